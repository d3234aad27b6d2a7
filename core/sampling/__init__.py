"""Sampling: every method's sampler, and the parts they share.

One module per method says only how its conditioning enters its network: ``scail2`` (with
``scail2_conditioning``: what is embedded once per segment), ``dreamactor_m2``, ``animate_anyone`` (EverybodyDance /
AnimateAnyone) and ``stable_animator`` (DanceTogether / StableAnimator). Shared parts: schedules and solvers
(``solvers``, ``ddim``, ``edm``), guidance and the denoising loop (``loop``), long videos (``segments``,
``context_windows``, ``tiles``, ``frame_blend``) and the Wan prompt layout (``wan_prompt``).
"""
