"""Face identities for identity-conditioned samplers: ArcFace embeddings per tracked person (SPEC §2.3)."""
