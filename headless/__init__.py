"""Running the pack without a ComfyUI front end: workflow parsing, validation, execution, and the CLI commands."""
