"""Original-Wan (and ComfyUI) names ⇄ diffusers ``WanTransformer3DModel`` names, for weights and LoRA modules.

The table was written from reading both model definitions (Wan2.1 ``wan/modules/model.py``, diffusers
``transformer_wan.py``) and is checked in the tests against the 1303 pairs diffusers' own converter produces
(``shared/manifests/wan21_i2v_14B_original_to_diffusers.json``). Two traps: the original's cross-attention
norm is ``norm3`` but diffusers calls it ``norm2``; ``cross_attn.k_img`` is ``attn2.add_k_proj``.
SCAIL-2's extra convs (``patch_embedding_pose``, ``patch_embedding_mask``) keep their names in both.
"""
from __future__ import annotations

# Module (or parameter) paths outside the blocks: original → diffusers.
_TOP_LEVEL = {
    "text_embedding.0": "condition_embedder.text_embedder.linear_1",
    "text_embedding.2": "condition_embedder.text_embedder.linear_2",
    "time_embedding.0": "condition_embedder.time_embedder.linear_1",
    "time_embedding.2": "condition_embedder.time_embedder.linear_2",
    "time_projection.1": "condition_embedder.time_proj",
    "img_emb.proj.0": "condition_embedder.image_embedder.norm1",
    "img_emb.proj.1": "condition_embedder.image_embedder.ff.net.0.proj",
    "img_emb.proj.3": "condition_embedder.image_embedder.ff.net.2",
    "img_emb.proj.4": "condition_embedder.image_embedder.norm2",
    "img_emb.emb_pos": "condition_embedder.image_embedder.pos_embed",
    "head.modulation": "scale_shift_table",
    "head.head": "proj_out",
}

# Paths inside ``blocks.N.``: original → diffusers.
_IN_BLOCK = {
    "modulation": "scale_shift_table",
    "norm3": "norm2",
    "ffn.0": "ffn.net.0.proj",
    "ffn.2": "ffn.net.2",
    "cross_attn.k_img": "attn2.add_k_proj",
    "cross_attn.v_img": "attn2.add_v_proj",
    "cross_attn.norm_k_img": "attn2.norm_added_k",
}
for _orig, _diff in (("self_attn", "attn1"), ("cross_attn", "attn2")):
    _IN_BLOCK.update({f"{_orig}.{p}": f"{_diff}.to_{p}" for p in ("q", "k", "v")})
    _IN_BLOCK.update({f"{_orig}.o": f"{_diff}.to_out.0",
                      f"{_orig}.norm_q": f"{_diff}.norm_q", f"{_orig}.norm_k": f"{_diff}.norm_k"})

_TOP_LEVEL_INV = {v: k for k, v in _TOP_LEVEL.items()}
_IN_BLOCK_INV = {v: k for k, v in _IN_BLOCK.items()}


def _rename(name: str, table: dict[str, str]) -> str:
    """Replace the longest table prefix that ends at a path boundary; names not in the table pass through."""
    best = ""
    for prefix in table:
        if (name == prefix or name.startswith(prefix + ".")) and len(prefix) > len(best):
            best = prefix
    return table[best] + name[len(best):] if best else name


def _map(name: str, top: dict[str, str], block: dict[str, str]) -> str:
    if name.startswith("blocks."):
        _, index, rest = name.split(".", 2)
        return f"blocks.{index}.{_rename(rest, block)}"
    return _rename(name, top)


def original_to_diffusers(name: str) -> str:
    """Diffusers name of an original-Wan weight or module path (``blocks.3.ffn.0.weight`` → ``blocks.3.ffn.net.0.proj.weight``)."""
    return _map(name, _TOP_LEVEL, _IN_BLOCK)


def diffusers_to_original(name: str) -> str:
    """Original-Wan (ComfyUI) name of a diffusers weight or module path; the inverse of ``original_to_diffusers``."""
    return _map(name, _TOP_LEVEL_INV, _IN_BLOCK_INV)


def is_original_layout(keys: list[str] | set[str]) -> bool:
    """True for original/ComfyUI naming, False for diffusers naming (decided by names only one layout uses)."""
    keys = set(keys)
    return "head.modulation" in keys or "time_projection.1.weight" in keys
