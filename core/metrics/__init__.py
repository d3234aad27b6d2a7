"""Evaluation (SPEC §1.9, §6): one module per track, plus the shared pieces.

``tracking`` HOTA / CLEAR-MOT / IDF1 · ``identity`` IC accuracy and the pluggable appearance embedder ·
``pose`` MPJPE, OKS, PoseSSIM, SmoothRMS, TimeDynRMSE, FVMD · ``video`` L1, PSNR, SSIM, ST-SSIM, GMSD-T ·
``lpips`` / ``networks`` LPIPS, FID, FVD over user-provided weights · ``frechet`` the Fréchet distance ·
``qa`` identity-swap QA · ``suite`` one call per track · ``report`` strict JSON and tables.
"""
