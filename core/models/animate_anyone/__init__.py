"""AnimateAnyone backbone (Moore-AnimateAnyone layout) with EverybodyDance's additions (SPEC §1.1–1.3, §1.7)."""
