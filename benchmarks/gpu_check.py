"""GPU readiness in one run (< 8 min on one GPU): SCAIL-2 / Wan blocks at the 14B width with random weights.

Real shapes, random values (speed and memory do not depend on the weights): width 5120, 40 heads, feed-forward
13824, a few blocks, 81 frames at 480×832 in bf16, i.e. a SCAIL-2 sequence of reference + 21 video latent frames
+ half-resolution driving frames (42,510 tokens) with 512 text and 257 image tokens of cross-attention. Reports:

* per-block and whole-forward time (CUDA-synchronised wall time, min / median / max), the matmul TFLOP/s they
  achieve and the model FLOPs utilisation (MFU) against the device's dense bf16 peak, and peak memory;
* the attention the blocks actually run: the SDPA operator torch dispatched to and the top GPU kernels;
* SDPA backends (flash, memory-efficient, cuDNN, math) against torch's own choice, which is what the Wan blocks
  use (diffusers' "native" attention backend); the fastest is named, and a recommendation printed when torch's
  choice is > 5 % slower than a forced backend;
* the fp8 path (our ``ScaledFp8Linear``: fp8 storage, upcast per call) against bf16, and whether native fp8
  matmuls (``torch._scaled_mm``) would pay;
* block swap (``enable_block_offload``): its cost per block and the upload bandwidth it reaches;
* ``torch.compile`` of one block on vs off (compile time reported apart).

Every section is guarded: one that fails or would overrun the time budget is reported as such and the rest
still runs. ``--tiny --device cpu`` is the dry run at tiny shapes the tests execute.

    python -m choreograph.benchmarks.gpu_check --json gpu_check.json
    python -m choreograph.benchmarks.gpu_check --tiny --device cpu
"""
from __future__ import annotations

import argparse
import copy
import importlib.util
import json
import platform
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass

import torch
import torch.nn.functional as F
from torch import nn

from ..core.models.fp8 import make_fp8_linear, quantize_fp8
from ..core.models.offload import enable_block_offload
from ..core.models.scail2 import Scail2Context
from ..core.models.wan_arch import SCAIL2, WanArch
from ..core.models.wan_forward import cross_context, time_conditions
from ..core.models.wan_loader import build_wan
from .flops import BlockShape, attention_flops, device_peak_tflops
from .timing import WALL, Samples, cuda_sync, measure, one_thread

BUDGET_S = 420.0  # leave a minute of the 8 for start-up and the model build
SLOWER_THAN_BEST = 1.05  # recommend a forced SDPA backend only when torch's choice is > 5 % slower


@dataclass(frozen=True)
class Shape:
    """Network width and video size of the check."""

    dim: int = 5120
    heads: int = 40
    ffn: int = 13824
    layers: int = 4
    frames: int = 81
    height: int = 480
    width: int = 832
    text_dim: int = 4096
    image_dim: int = 1280
    freq_dim: int = 256
    text_tokens: int = 512
    image_tokens: int = 257

    @property
    def latent(self) -> tuple[int, int, int]:
        return (self.frames - 1) // 4 + 1, self.height // 8, self.width // 8

    @property
    def tokens(self) -> int:
        """Self-attention sequence: reference frame + video frames + half-resolution driving frames."""
        f, h, w = self.latent
        return (h // 2) * (w // 2) * (1 + f) + f * (h // 4) * (w // 4)

    def block(self) -> BlockShape:
        return BlockShape(self.tokens, self.text_tokens, self.image_tokens, self.dim, self.ffn)

    def arch(self) -> WanArch:
        return WanArch(variant=SCAIL2, dim=self.dim, in_channels=20, out_channels=16, num_layers=self.layers,
                       ffn_dim=self.ffn, text_dim=self.text_dim, freq_dim=self.freq_dim, patch_size=(1, 2, 2),
                       cross_attn_norm=True, image_dim=self.image_dim, pos_embed_seq_len=None, mask_channels=28,
                       head_dim=self.dim // self.heads)


REAL = Shape()
TINY = Shape(dim=64, heads=2, ffn=128, layers=2, frames=5, height=64, width=64, text_dim=32, image_dim=24,
             freq_dim=32, text_tokens=16, image_tokens=8)


class Check:
    """The model, its inputs and the report being filled, with the run's time budget."""

    def __init__(self, shape: Shape, device: str, dtype: torch.dtype, repeats: int, budget_s: float) -> None:
        self.shape, self.device, self.dtype, self.repeats = shape, torch.device(device), dtype, repeats
        self.cuda = self.device.type == "cuda"
        self.sync = cuda_sync(self.device)
        self.deadline = time.monotonic() + budget_s
        self.report: dict = {"shape": asdict(shape), "tokens": shape.tokens, "dtype": str(dtype).split(".")[-1],
                             "environment": environment(self.device)}
        torch.manual_seed(0)
        with torch.device(self.device):
            self.model = _as_loaded(build_wan(shape.arch()), dtype)
        self.inputs = self._inputs()
        with torch.no_grad():
            x, t, text, image, ctx = self.inputs
            tokens, phasors, _ = self.model.sequence(x, ctx)
            _, proj = time_conditions(self.model, t, tokens.dtype, ctx.compat)
            cross = cross_context(self.model, text.to(tokens.dtype), image.to(tokens.dtype), ctx.compat)
        self.block_args = (tokens, cross, proj, phasors)

    def _inputs(self) -> tuple:
        s, d = self.shape, {"device": self.device, "dtype": self.dtype}
        f, h, w = s.latent
        ctx = Scail2Context(reference=torch.randn(1, 16, 1, h, w, **d), reference_mask=torch.rand(1, 28, 1, h, w, **d),
                            driving=torch.randn(1, 16, f, h // 2, w // 2, **d),
                            driving_mask=torch.rand(1, 28, f, h // 2, w // 2, **d))
        return (torch.randn(1, 16, f, h, w, **d), torch.tensor([500.0], device=self.device),
                torch.randn(1, s.text_tokens, s.text_dim, **d), torch.randn(1, s.image_tokens, s.image_dim, **d), ctx)

    def forward(self) -> torch.Tensor:
        with torch.no_grad():
            x, t, text, image, ctx = self.inputs
            return self.model(x, t, text, image, context=ctx)

    def run_block(self, block: nn.Module) -> Callable[[], torch.Tensor]:
        def go() -> torch.Tensor:
            with torch.no_grad():
                return block(*self.block_args)
        return go

    def time(self, label: str, work: Callable[[], object], repeats: int | None = None) -> Samples:
        return measure(label, work, repeats=repeats or self.repeats, warmup=1, sync=self.sync)

    def section(self, name: str, work: Callable[[], dict], needs_s: float = 0.0) -> None:
        """Run one section into ``report[name]``; report a failure or a skipped section instead of stopping."""
        left = self.deadline - time.monotonic()
        if left < needs_s:
            self.report[name] = {"skipped": f"time budget: {left:.0f} s left, needs ~{needs_s:.0f} s"}
        else:
            started = time.monotonic()
            try:
                self.report[name] = work()
            except Exception as err:  # noqa: BLE001 - a missing kernel or an out-of-memory must not cost the rest
                self.report[name] = {"error": f"{type(err).__name__}: {str(err).splitlines()[0][:300]}"}
            self.report[name]["section_s"] = round(time.monotonic() - started, 2)
        print(f"[{name}] {json.dumps(self.report[name], default=str)}", flush=True)
        if self.cuda:
            torch.cuda.empty_cache()


def _as_loaded(model: nn.Module, dtype: torch.dtype) -> nn.Module:
    """Weights in ``dtype`` except the small modules the loader keeps in float32 (``_keep_in_fp32_modules``)."""
    keep = tuple(getattr(model, "_keep_in_fp32_modules", None) or ())
    for name, param in model.named_parameters():
        if not any(part in name.split(".") for part in keep):
            param.data = param.data.to(dtype)
    return model.eval().requires_grad_(False)


def environment(device: torch.device) -> dict:
    """Hardware and software the numbers were measured on."""
    info = {"torch": torch.__version__, "python": platform.python_version(), "device": str(device),
            "threads": torch.get_num_threads()}
    try:
        import diffusers

        info["diffusers"] = diffusers.__version__
    except ImportError:
        pass
    if device.type == "cuda":
        props = torch.cuda.get_device_properties(device)
        info.update(gpu=props.name, capability=f"{props.major}.{props.minor}", memory_gib=round(props.total_memory
                    / 2**30, 1), cuda=torch.version.cuda, cudnn=torch.backends.cudnn.version())
    else:
        info["cpu"] = platform.processor() or platform.machine()
    info["sageattention"] = importlib.util.find_spec("sageattention") is not None
    info["flash_attn"] = importlib.util.find_spec("flash_attn") is not None
    return info


def _stats(samples: Samples) -> dict:
    low, mid, high = samples.stats(WALL)
    return {"min_s": low, "median_s": mid, "max_s": high, "repeats": samples.repeats}


def _rate(flops: float, seconds: float, peak: float | None) -> dict:
    tflops = flops / max(seconds, 1e-12) / 1e12
    return {"tflops": round(tflops, 3), "mfu": None if peak is None else round(tflops / peak, 4)}


def forward_section(check: Check, peak: float | None) -> dict:
    """Per-block and whole-forward time, achieved TFLOP/s, MFU and peak memory."""
    block_flops = check.shape.block().total()
    if check.cuda:
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
        resident = torch.cuda.memory_allocated()
    block = check.time("one block", check.run_block(check.model.blocks[0]))
    whole = check.time("forward", check.forward, repeats=max(2, check.repeats // 2))
    out = {"block": _stats(block), "forward": _stats(whole), "block_tflop": block_flops / 1e12,
           "block_rate": _rate(block_flops, block.stats(WALL)[1], peak),
           "forward_rate": _rate(block_flops * check.shape.layers, whole.stats(WALL)[1], peak),
           "forward_per_block_s": whole.stats(WALL)[1] / check.shape.layers,
           "flops_by_part": {k: v / 1e12 for k, v in check.shape.block().flops().items()}}
    if check.cuda:
        out["resident_gib"] = resident / 2**30  # weights, inputs and block inputs
        out["peak_gib"] = torch.cuda.max_memory_allocated() / 2**30
        out["activation_peak_gib"] = (torch.cuda.max_memory_allocated() - resident) / 2**30
    return out


_SDPA_OPS = ("scaled_dot_product", "flash_attention", "efficient_attention", "cudnn_attention")
_ATTENTION_KERNELS = ("flash", "fmha", "attention", "sdpa", "attn")


def kernel_section(check: Check) -> dict:
    """What one block's attention actually ran: SDPA operators dispatched and the top attention kernels."""
    from torch.profiler import ProfilerActivity, profile

    activities = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if check.cuda else [])
    run = check.run_block(check.model.blocks[0])
    run()
    check.sync()
    with profile(activities=activities) as prof:
        run()
        check.sync()
    events = prof.key_averages()
    ops = sorted({e.key for e in events if e.key.startswith("aten::") and any(s in e.key for s in _SDPA_OPS)})
    kernels = []
    for e in events:
        device_time = getattr(e, "self_device_time_total", None) or getattr(e, "self_cuda_time_total", 0)
        if check.cuda and device_time and any(k in e.key.lower() for k in _ATTENTION_KERNELS):
            kernels.append((device_time, e.key[:160]))
    kernels.sort(reverse=True)
    return {"sdpa_operators": ops, "attention_kernels": [{"kernel": k, "self_us": round(t, 1)}
                                                           for t, k in kernels[:4]]}


def sdpa_section(check: Check, peak: float | None) -> dict:
    """SDPA backends on the self-attention shape, against torch's own choice (what the Wan blocks run)."""
    from torch.nn.attention import SDPBackend, sdpa_kernel

    s = check.shape
    head = s.dim // s.heads
    # (B, N, heads, d) permuted to (B, heads, N, d): the layout diffusers' native backend hands to SDPA
    q, k, v = (torch.randn(1, s.tokens, s.heads, head, device=check.device, dtype=check.dtype).permute(0, 2, 1, 3)
               for _ in range(3))
    flops = attention_flops(1, s.heads, s.tokens, head)
    results: dict[str, dict] = {}
    choices = [("torch's choice (ours)", None), ("flash", SDPBackend.FLASH_ATTENTION),
               ("memory-efficient", SDPBackend.EFFICIENT_ATTENTION), ("cudnn", SDPBackend.CUDNN_ATTENTION),
               ("math", SDPBackend.MATH)]
    math_bytes = s.heads * s.tokens * s.tokens * 4 * 2
    for label, backend in choices:
        if backend == SDPBackend.MATH and check.cuda and math_bytes > 0.5 * torch.cuda.mem_get_info()[0]:
            results[label] = {"skipped": f"would need ~{math_bytes / 2**30:.0f} GiB for the score matrix"}
            continue
        try:
            def attend(backend=backend):
                if backend is None:
                    return F.scaled_dot_product_attention(q, k, v)
                with sdpa_kernel(backend):
                    return F.scaled_dot_product_attention(q, k, v)
            samples = check.time(label, attend)
            results[label] = {**_stats(samples), **_rate(flops, samples.stats(WALL)[1], peak)}
        except RuntimeError as err:
            results[label] = {"unavailable": str(err).splitlines()[0][:200]}
    timed = {label: r["median_s"] for label, r in results.items() if "median_s" in r}
    out: dict = {"backends": results, "attention_tflop": flops / 1e12}
    if timed:
        fastest = min(timed, key=timed.get)
        ours = timed.get("torch's choice (ours)")
        out["fastest"] = fastest
        out["recommend"] = (f"force '{fastest}': torch's choice is {ours / timed[fastest]:.2f}x slower"
                            if ours is not None and ours > SLOWER_THAN_BEST * timed[fastest]
                            else "keep torch's choice (within 5 % of the fastest)")
    return out


def _fp8_copy(block: nn.Module) -> nn.Module:
    """A copy of ``block`` whose Linear layers hold fp8 weights with a per-tensor scale (our fp8 load path)."""
    quantised = copy.deepcopy(block)
    for module in list(quantised.modules()):
        if type(module) is nn.Linear:
            w8, scale = quantize_fp8(module.weight.data)
            make_fp8_linear(module)
            module.weight = nn.Parameter(w8, requires_grad=False)
            module.weight_scale.copy_(scale)
    return quantised


def fp8_section(check: Check, peak: float | None) -> dict:
    """Our fp8 path (fp8 storage, upcast per call) against bf16; and native fp8 matmul, where the GPU has it."""
    block = check.model.blocks[0]
    quantised = _fp8_copy(block)
    bf16 = check.time("bf16 block", check.run_block(block))
    fp8 = check.time("fp8 block", check.run_block(quantised))
    size = {name: sum(t.numel() * t.element_size() for t in m.state_dict().values()) / 2**30
            for name, m in (("bf16", block), ("fp8", quantised))}
    out = {"bf16_block": _stats(bf16), "fp8_block": _stats(fp8),
           "fp8_over_bf16": fp8.stats(WALL)[1] / bf16.stats(WALL)[1], "block_gib": size}
    del quantised
    out["native_fp8_matmul"] = _scaled_mm_probe(check, peak)
    return out


def _scaled_mm_probe(check: Check, peak: float | None) -> dict:
    """A tokens × dim × dim product in bf16 and through ``torch._scaled_mm`` (e4m3, per-tensor scales)."""
    if not check.cuda or torch.cuda.get_device_capability(check.device) < (8, 9):
        return {"skipped": "needs a CUDA GPU of compute capability 8.9 or newer"}
    s = check.shape
    rows = s.tokens // 16 * 16  # fp8 matmuls need sizes divisible by 16
    a = torch.randn(rows, s.dim, device=check.device, dtype=torch.bfloat16)
    b = torch.randn(s.dim, s.dim, device=check.device, dtype=torch.bfloat16)
    a8, b8 = a.to(torch.float8_e4m3fn), b.t().contiguous().to(torch.float8_e4m3fn).t()  # b column-major
    one = torch.ones((), device=check.device, dtype=torch.float32)
    flops = 2.0 * rows * s.dim * s.dim
    bf16 = check.time("bf16 matmul", lambda: a @ b)
    fp8 = check.time("fp8 matmul", lambda: torch._scaled_mm(a8, b8, one, one, out_dtype=torch.bfloat16))
    return {"bf16": _rate(flops, bf16.stats(WALL)[1], peak),
            "fp8": _rate(flops, fp8.stats(WALL)[1], None if peak is None else 2 * peak),
            "speedup": bf16.stats(WALL)[1] / fp8.stats(WALL)[1]}


def compile_section(check: Check) -> dict:
    """One block through ``torch.compile`` against eager (the first call, which compiles, is timed apart)."""
    block = check.model.blocks[0]
    compiled = torch.compile(block)
    run = check.run_block(compiled)
    started = time.perf_counter()
    run()
    check.sync()
    compile_s = time.perf_counter() - started
    eager = check.time("eager block", check.run_block(block))
    fast = check.time("compiled block", run)
    torch._dynamo.reset()
    return {"compile_s": compile_s, "eager": _stats(eager), "compiled": _stats(fast),
            "speedup": eager.stats(WALL)[1] / fast.stats(WALL)[1]}


def swap_section(check: Check) -> dict:
    """Every block streamed from host memory (``enable_block_offload``) against all blocks resident."""
    resident = check.time("resident forward", check.forward, repeats=max(2, check.repeats // 2))
    block_bytes = sum(t.numel() * t.element_size() for t in check.model.blocks[0].state_dict().values())
    state = enable_block_offload(check.model, check.device, resident=0)
    try:
        swapped = check.time("swapped forward", check.forward, repeats=max(2, check.repeats // 2))
    finally:
        state.remove()
        check.model.to(check.device)
    extra = (swapped.stats(WALL)[1] - resident.stats(WALL)[1]) / check.shape.layers
    return {"resident": _stats(resident), "swapped": _stats(swapped), "extra_per_block_s": extra,
            "block_gib": block_bytes / 2**30,
            "effective_upload_gb_s": block_bytes / max(extra, 1e-9) / 1e9 if extra > 0 else None,
            "pinned_host_memory": check.cuda}


def run_check(shape: Shape, device: str, dtype: torch.dtype, repeats: int = 5, budget_s: float = BUDGET_S,
              compile_block: bool | None = None, peak_tflops: float | None = None) -> dict:
    """Every section in turn; returns the report (also printed section by section)."""
    started = time.monotonic()
    if torch.device(device).type == "cpu":
        one_thread()
    check = Check(shape, device, dtype, repeats, budget_s)
    peak = peak_tflops or (device_peak_tflops(check.report["environment"].get("gpu", "")) if check.cuda else None)
    check.report["peak_tflops"] = peak
    check.report["build_s"] = round(time.monotonic() - started, 2)
    print(f"[setup] {json.dumps(check.report, default=str)}", flush=True)
    check.section("forward", lambda: forward_section(check, peak), needs_s=10)
    check.section("attention_kernel", lambda: kernel_section(check), needs_s=10)
    check.section("sdpa_backends", lambda: sdpa_section(check, peak), needs_s=20)
    check.section("fp8", lambda: fp8_section(check, peak), needs_s=20)
    if compile_block is None:
        compile_block = check.cuda
    if compile_block:
        check.section("torch_compile", lambda: compile_section(check), needs_s=150)
    else:
        check.report["torch_compile"] = {"skipped": "off (CPU dry run; pass --compile to include it)"}
    check.section("block_swap", lambda: swap_section(check), needs_s=30)
    check.report["total_s"] = round(time.monotonic() - started, 2)
    return check.report


def summary(report: dict) -> str:
    """A few human-readable lines from the report."""
    lines = [(f"{report['environment'].get('gpu', report['environment'].get('cpu'))}, torch "
              f"{report['environment']['torch']}, {report['dtype']}, {report['tokens']} tokens, "
              f"total {report.get('total_s')} s")]
    fwd = report.get("forward", {})
    if "block" in fwd:
        rate = fwd["block_rate"]
        mfu = "" if rate["mfu"] is None else f", MFU {100 * rate['mfu']:.1f} %"
        lines.append(f"block {1e3 * fwd['block']['median_s']:.1f} ms ({fwd['block_tflop']:.1f} TFLOP): "
                     f"{rate['tflops']:.1f} TFLOP/s{mfu}; peak memory {fwd.get('peak_gib', float('nan')):.1f} GiB")
    kernel = report.get("attention_kernel", {})
    if "sdpa_operators" in kernel:
        lines.append(f"attention ran {', '.join(kernel['sdpa_operators']) or '?'}"
                     + (f" ({kernel['attention_kernels'][0]['kernel']})" if kernel["attention_kernels"] else ""))
    sdpa = report.get("sdpa_backends", {})
    if "fastest" in sdpa:
        lines.append(f"fastest SDPA backend: {sdpa['fastest']}; {sdpa['recommend']}")
    for name, key in (("fp8 / bf16 block time", ("fp8", "fp8_over_bf16")),
                      ("torch.compile speed-up", ("torch_compile", "speedup")),
                      ("block swap extra s per block", ("block_swap", "extra_per_block_s"))):
        value = report.get(key[0], {}).get(key[1])
        if value is not None:
            lines.append(f"{name}: {value:.3f}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tiny", action="store_true", help="tiny shapes (the CPU dry run)")
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--dtype", choices=("bfloat16", "float16", "float32"), default=None,
                        help="default: bfloat16 on CUDA, float32 on CPU")
    parser.add_argument("--layers", type=int, default=None, help="transformer blocks (default 4)")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--budget", type=float, default=BUDGET_S, help="seconds after which sections are skipped")
    parser.add_argument("--compile", dest="compile_block", action="store_const", const=True, default=None,
                        help="include torch.compile (default: on CUDA only)")
    parser.add_argument("--peak-tflops", type=float, default=None, help="device bf16 peak, if not in the table")
    parser.add_argument("--json", default=None, help="also write the report to this file")
    args = parser.parse_args(argv)
    shape = TINY if args.tiny else REAL
    if args.layers:
        shape = Shape(**{**asdict(shape), "layers": args.layers})
    dtype = getattr(torch, args.dtype or ("bfloat16" if args.device.startswith("cuda") else "float32"))
    report = run_check(shape, args.device, dtype, args.repeats, args.budget, args.compile_block, args.peak_tflops)
    print(summary(report))
    if args.json:
        with open(args.json, "w") as handle:
            json.dump(report, handle, indent=1, default=str)
    return 0


if __name__ == "__main__":
    sys.exit(main())
