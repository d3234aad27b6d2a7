"""Renderers that turn tracked poses into pixels: DWPose / identity-coloured skeletons, per-person pose maps,
per-identity masks and the preview overlay. Colours come from one slot palette (``palette.py``) so skeletons,
masks and binding slots always agree on who is who."""
