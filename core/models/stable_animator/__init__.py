"""DanceTogether on the StableAnimator / SVD-xt backbone (SPEC §2.1–2.3).

``pose_net`` (StableAnimator's PoseNet layout), ``mask_pose`` (MaskPoseAdapter: per-person pose + mask fusion),
``face_encoder`` (FusionFaceId layout, applied once per identity = MultiFace), ``id_attention`` (moment-aligned
identity cross-attention), ``unet`` (SVD UNet with those processors and adapter features after ``conv_in``),
and ``loader`` (files → modules with the shared exact key check). How conditioning enters the shared EDM
sampler is ``core.sampling.stable_animator``.
"""
