"""Sampling shared by every backbone: schedules and solvers, guidance, the denoising loop, long-video segments."""
