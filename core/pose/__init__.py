"""Whole-body poses: keypoint layout, the tracked pose-sequence value type, extraction, tracking and interop."""
