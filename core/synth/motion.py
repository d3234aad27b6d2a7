"""Joint-angle curves: dancing in place, idling, side-stepping while walking, and the neutral reference pose.

Each character dances in its own style — its own tempo, phases, and how much each joint takes part — so motion
is a second cue to identity (which the lookalike characters rely on). Angles stay inside joint limits by
construction (sums of bounded sines, then clipped).
"""
from __future__ import annotations

import numpy as np

from .skeleton import JointAngles

IDLE_AMPLITUDE = 0.15
"""How much a character that is not dancing still sways and gestures, relative to a dance."""
BLINK_PERIOD_S = 3.0
REST_SHOULDER, REST_HIP = 0.3, 0.05
ATTENTION_SHOULDER, ATTENTION_HIP = 0.06, -0.04
STEP_LENGTH = 0.35  # body heights per stride half-cycle, for side-stepping legs


def neutral_angles(frames: int) -> JointAngles:
    """The reference pose: standing, arms slightly away from the body so hands and torso separate."""
    full = lambda v: np.full(frames, v, dtype=np.float64)
    return JointAngles(
        lean=full(0.0), head_tilt=full(0.0), shoulder_l=full(0.35), shoulder_r=full(0.35), elbow_l=full(0.1),
        elbow_r=full(0.1), hip_l=full(0.06), hip_r=full(0.06), plie_l=full(0.0), plie_r=full(0.0),
        curl_l=full(0.3), curl_r=full(0.3), mouth_open=full(0.1), eye_open=full(1.0),
    )


def dance_angles(rng: np.random.Generator, frames: int, fps: float, amplitude: float, speed: float,
                 walk_speed: np.ndarray, at_attention: bool = False) -> JointAngles:
    """Angles of one character: a personal dance of strength ``amplitude`` plus side-steps while walking.

    walk_speed: ``(T,)`` horizontal speed in body heights per frame (0 when standing). at_attention: rest with
    arms against the body and feet together (the silhouette of "cross", where one must hide another fully).
    """
    rest_shoulder, rest_hip = (ATTENTION_SHOULDER, ATTENTION_HIP) if at_attention else (REST_SHOULDER, REST_HIP)
    t = np.arange(frames) / fps
    omega = 2 * np.pi * rng.uniform(0.6, 1.2) * speed
    phase = rng.uniform(0, 2 * np.pi, size=8)
    mirror = np.pi if rng.random() < 0.5 else 0.0  # arms in phase or alternating
    wave = lambda k, mult=1.0: np.sin(mult * omega * t + phase[k])
    a = amplitude
    arm_gain = rng.uniform(0.5, 1.2, size=2)
    shoulder_l = rest_shoulder + a * arm_gain[0] * (1 + wave(0))
    shoulder_r = rest_shoulder + a * arm_gain[1] * (1 + np.sin(omega * t + phase[0] + mirror))
    elbow_l, elbow_r = a * (0.3 + 0.7 * wave(1, 2.0)), a * (0.3 + 0.7 * wave(2, 2.0))
    kick = a * rng.uniform(0.05, 0.25)
    step_phase = np.cumsum(np.abs(walk_speed)) / STEP_LENGTH * np.pi
    stepping = np.clip(np.abs(walk_speed) / 0.01, 0, 1) * 0.3
    plie = a * rng.uniform(0.05, 0.3) * (1 + wave(3, 2.0)) / 2
    return JointAngles(
        lean=a * 0.12 * wave(4, 0.5), head_tilt=a * 0.15 * wave(5),
        shoulder_l=np.clip(shoulder_l, 0, 3.0), shoulder_r=np.clip(shoulder_r, 0, 3.0),
        elbow_l=np.clip(elbow_l, -0.6, 2.2), elbow_r=np.clip(elbow_r, -0.6, 2.2),
        hip_l=rest_hip + kick * np.maximum(0, wave(6)) + stepping * np.maximum(0, np.sin(step_phase)),
        hip_r=rest_hip + kick * np.maximum(0, -wave(6)) + stepping * np.maximum(0, -np.sin(step_phase)),
        plie_l=plie, plie_r=plie,
        curl_l=0.5 + 0.5 * wave(7, 1.5), curl_r=0.5 - 0.5 * wave(7, 1.5),
        mouth_open=np.clip(0.2 + 0.3 * a * wave(7, 3.0), 0, 1),
        eye_open=_blinks(rng, t),
    )


def _blinks(rng: np.random.Generator, t: np.ndarray) -> np.ndarray:
    """1 = open; closes for ~0.1 s once every ``BLINK_PERIOD_S`` at a personal offset."""
    offset = rng.uniform(0, BLINK_PERIOD_S)
    return np.where(((t + offset) % BLINK_PERIOD_S) < 0.1, 0.1, 1.0)
