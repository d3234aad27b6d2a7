"""Choreograph's library: pose, rendering, conditioning, models, sampling, losses, metrics and synthetic data.

Nothing here imports ComfyUI; every stage is a plain function over the value types defined next to it, so the
same code runs inside a ComfyUI graph, headless, in training and in tests.
"""
