"""Conditioning values built from tracked poses and references: the identity map (who owns which slot),
character slots, SCAIL-2 binding slots and DreamActor-M2 in-context composites."""
