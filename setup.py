"""Map the repository root onto the `choreograph` package.

ComfyUI imports this folder as a custom node under whatever name it was cloned as; pip must expose the very same
tree as `choreograph`. pyproject.toml cannot prefix discovered sub-packages, so the list is computed here.
"""
from setuptools import find_packages, setup

SUBPACKAGES = find_packages(where=".", include=["core*", "nodes*", "training*", "headless*"])

setup(
    packages=["choreograph"] + [f"choreograph.{name}" for name in SUBPACKAGES],
    package_dir={"choreograph": "."},
    package_data={"choreograph": ["workflows/*.json", "workflows/*/*.json", "workflows/*/*/*.json",
                                  "workflows/*/*/*/*.json", "web/*.js", "demo/*", "demo/*/*", "training/configs/*.yaml"]},
)
