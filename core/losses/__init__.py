"""Training objectives of the four methods, as plain functions of tensors (no model, no optimiser).

``flow_matching`` (SCAIL-2 / Wan, SPEC §3.4), ``img_loss`` (EverybodyDance Identity Matching Graph via
Mask–Query Attention, §1.2–1.4), ``masked_reconstruction`` (DanceTogether EDM loss, §2.4) and ``dpo``
(SCAIL-2 Bias-Aware DPO, §3.5). ``training/`` wires them to networks.
"""
