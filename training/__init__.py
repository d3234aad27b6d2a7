"""Headless fine-tuning on multi-character clips: ``python -m choreograph.training CONFIG.yaml``.

One entry serves every backbone; ``accelerate launch -m choreograph.training CONFIG.yaml`` runs it on several
processes or GPUs. ``config`` (YAML schema), ``dataset`` (on-disk clip format), ``pairs`` (pre-classified swap
sampling), ``codecs`` (pixels ⇄ latents), ``scail2_batch`` (clip → in-context batch), ``wan_img`` (IMG loss on the
Wan self-attention), ``lora`` (peft + ComfyUI export), ``checkpoints`` (atomic, exact resume), ``trainer`` (loop).
"""
