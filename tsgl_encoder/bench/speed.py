"""Speed of the TSGL encoder and of the swapped hosts, each against what users would run instead.

    tsgl-speed                       # every TSGL preset and host at 256, 512, 1024
    tsgl-speed --smoke               # seconds: tiny models, checks the script
    tsgl-speed --device cuda --bf16 --channels-last --compile --forward-batches 1 16 --batch 16 \
        --sizes 256 512 --host-sizes 256   # the GPU run of issue 7 (images/s at batch 1 and 16)

For each subject (a TSGL preset; per host: its own encoder, the TSGL encoder that replaces it, and
the whole generator before / after the swap): parameters, FLOPs (``torch.utils.flop_counter``),
forward (eval, no grad) and forward + backward (train mode) time per image as the median of
repeated runs after warm-up, images/s, peak memory (CPU: the process's resident set, sampled; CUDA:
max allocated) and the fraction of this machine's measured fp32 matmul throughput (the best GEMM of
torch.mm and a 1x1 convolution, before and after the subjects) that the FLOPs
reach. Batch 1 at every size where memory allows, and a training batch at the first size. Writes
``speed.md`` (with the issue's targets: met or missed, by how much), ``speed.json`` and
``speed_scaling.png`` (log-log time against pixels). Every ratio comes from the same run.
(``python benchmarks/speed.py ...`` in a clone of the repository is the same program.)
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import platform
import statistics
import sys
import threading
import time
from collections.abc import Callable
from contextlib import nullcontext
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import Tensor, nn
from torch.utils.flop_counter import FlopCounterMode
from tqdm.auto import tqdm

import adapters.ctsdg as ctsdg
import adapters.lama as lama
import adapters.mat as mat
from adapters.mat.first_stage import encode as mat_encode
from adapters.mat.swap import parameters_by_part as mat_parameters_by_part
from adapters.mat.swap import replace_encoder as mat_replace_encoder
from tsgl_encoder import create_encoder, list_encoders
from tsgl_encoder.bench import op_profile, speed_official
from tsgl_encoder.bench.extras import pyplot
from tsgl_encoder.bench.official import load_official

Inputs = Callable[[int, int, torch.device], tuple]  # (batch, size, device) -> positional arguments


@dataclass
class Subject:
    """One thing to time: ``call(module, *inputs(batch, size, device))`` returns tensors to backpropagate."""

    name: str
    group: str  # "encoder" for TSGL presets, else the host
    part: str  # "encoder" | "generator"
    variant: str  # "tsgl" | "own"
    module: nn.Module
    inputs: Inputs
    call: Callable[..., object] = lambda module, *args: module(*args)
    min_batch_train: int = 1  # BatchNorm on 1x1 maps needs two samples in training mode
    parameters: int | None = None  # when ``module`` holds more than what is timed (an encoder inside its host)


# ----------------------------------------------------------------------------- inputs
def _hole(batch: int, size: int, device: torch.device) -> Tensor:
    mask = torch.ones(batch, 1, size, size, device=device)
    mask[..., size // 4 : size // 2, size // 4 : 3 * size // 4] = 0  # 1/8 of the image
    return mask


def tsgl_inputs(batch: int, size: int, device: torch.device) -> tuple:
    image = torch.rand(batch, 3, size, size, device=device) * 2 - 1
    return image, _hole(batch, size, device)


def lama_inputs(batch: int, size: int, device: torch.device) -> tuple:
    image, mask = tsgl_inputs(batch, size, device)
    hole = 1 - mask
    return (torch.cat([(image + 1) / 2 * mask, hole], dim=1),)


def ctsdg_inputs(batch: int, size: int, device: torch.device) -> tuple:
    image, mask = tsgl_inputs(batch, size, device)
    edge_gray = torch.rand(batch, 2, size, size, device=device) * mask
    return image * mask, edge_gray, mask


# ----------------------------------------------------------------------------- subjects
def tsgl_subjects(presets: list[str]) -> list[Subject]:
    return [Subject(name, "encoder", "encoder", "tsgl", create_encoder(name), tsgl_inputs) for name in presets]


def lama_subjects(preset: str, overrides: dict, label: str | None = None) -> list[Subject]:
    own = lama.create_generator(preset, **overrides)
    preset = label or preset
    swapped = lama.replace_encoder(copy.deepcopy(own))
    n_down = own.n_downsampling
    own_encoder = nn.Sequential(*own.model[: 1 + n_down])
    return [
        Subject(f"{preset} encoder", "lama", "encoder", "own", own_encoder, lama_inputs),
        Subject(f"{preset} encoder", "lama", "encoder", "tsgl", swapped.model[0], lama_inputs),
        Subject(f"{preset}", "lama", "generator", "own", own, lama_inputs),
        Subject(f"{preset}", "lama", "generator", "tsgl", swapped, lama_inputs),
    ]


def _ctsdg_own_encoders(model: nn.Module, image: Tensor, edge: Tensor, mask: Tensor) -> tuple:
    textures = model._encode("texture", image, mask.expand(-1, image.shape[1], -1, -1))
    structures = model._encode("structure", edge, mask.expand(-1, edge.shape[1], -1, -1))
    return textures[-1][0], structures[-1][0]


def ctsdg_subjects(encoder: str) -> list[Subject]:
    own = ctsdg.create_generator()
    swapped = ctsdg.replace_encoder(copy.deepcopy(own), create_encoder(encoder))
    return [
        Subject("ctsdg encoders", "ctsdg", "encoder", "own", own, ctsdg_inputs, _ctsdg_own_encoders, 2,
                ctsdg.parameters_by_part(own)["encoder"]),
        Subject("ctsdg encoders", "ctsdg", "encoder", "tsgl", swapped.tsgl_encoder, ctsdg_inputs, min_batch_train=2),
        Subject("ctsdg", "ctsdg", "generator", "own", own, ctsdg_inputs, min_batch_train=2),
        Subject("ctsdg", "ctsdg", "generator", "tsgl", swapped, ctsdg_inputs, min_batch_train=2),
    ]


def mat_inputs(batch: int, size: int, device: torch.device) -> tuple:
    image, mask = tsgl_inputs(batch, size, device)
    return image, mask, torch.randn(batch, 512, device=device), None


def _mat_own_encoder(stage: nn.Module, image: Tensor, mask: Tensor, *_: object) -> Tensor:
    return mat_encode(stage, image, mask)[0]


def _mat_tsgl_encoder(bridge: nn.Module, image: Tensor, mask: Tensor, *_: object) -> Tensor:
    return bridge(image, mask)[0]


def mat_subjects(preset: str) -> list[Subject]:
    """MAT's first-stage encoder vs the TSGL one, and the generators (sizes: multiples of img_resolution)."""
    own = mat.create_generator(preset)
    swapped = mat_replace_encoder(copy.deepcopy(own))
    return [
        Subject(f"{preset} encoder", "mat", "encoder", "own", own.synthesis.first_stage, mat_inputs, _mat_own_encoder,
                parameters=mat_parameters_by_part(own)["encoder"]),
        Subject(f"{preset} encoder", "mat", "encoder", "tsgl", swapped.synthesis.first_stage.tsgl_encoder, mat_inputs,
                _mat_tsgl_encoder),
        Subject(preset, "mat", "generator", "own", own, mat_inputs),
        Subject(preset, "mat", "generator", "tsgl", swapped, mat_inputs),
    ]


# ----------------------------------------------------------------------------- measuring
def _tensors(output: object) -> list[Tensor]:
    if isinstance(output, Tensor):
        return [output]
    if isinstance(output, dict):
        output = list(output.values())
    if isinstance(output, (list, tuple)):
        return [t for item in output for t in _tensors(item)]
    return []


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


class PeakMemory:
    """Peak memory the block adds: CUDA max allocated, or the rise of the process's RSS (sampled every
    millisecond) above its level on entry. On CPU this is a lower bound: memory the allocator freed earlier
    and reuses is not counted again."""

    def __init__(self, device: torch.device) -> None:
        self.device, self.peak, self.start, self._running = device, 0, 0, False

    @staticmethod
    def rss() -> int:
        with open("/proc/self/statm") as statm:
            return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")

    def _sample(self) -> None:
        while self._running:
            self.peak = max(self.peak, self.rss())
            time.sleep(0.001)

    def __enter__(self) -> PeakMemory:
        if self.device.type == "cuda":
            torch.cuda.reset_peak_memory_stats(self.device)
            self.start = torch.cuda.memory_allocated(self.device)
        elif sys.platform.startswith("linux"):
            self.start = self.peak = self.rss()
            self._running = True
            self._thread = threading.Thread(target=self._sample, daemon=True)
            self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self.device.type == "cuda":
            self.peak = torch.cuda.max_memory_allocated(self.device)
        elif self._running:
            self._running = False
            self._thread.join()
            self.peak = max(self.peak, self.rss())
        self.added = self.peak - self.start


def available_memory(device: torch.device) -> int:
    if device.type == "cuda":
        return torch.cuda.mem_get_info(device)[0]
    with open("/proc/meminfo") as meminfo:
        fields = dict(line.split(":", 1) for line in meminfo)
    return int(fields["MemAvailable"].split()[0]) * 1024


def gemm_rates(device: torch.device, n: int = 2048, repeats: int = 10,
               dtype: torch.dtype = torch.float32) -> dict[str, float]:
    """This machine's GEMM throughput in ``dtype`` in GFLOP/s: the best of ``repeats`` n x n x n products, through
    ``torch.mm`` (MKL / cuBLAS) and as a 1x1 convolution (oneDNN / cuDNN, the route the convolutions take).
    The best, not the median: a shared machine's noise only ever slows a run down."""
    a, b = torch.randn(n, n, device=device, dtype=dtype), torch.randn(n, n, device=device, dtype=dtype)
    image = a.T.reshape(1, n, 32, n // 32).contiguous(memory_format=torch.channels_last)  # n pixels, n channels
    kernel = b.reshape(n, n, 1, 1)
    products = {"mm": lambda: a @ b, "conv1x1": lambda: torch.nn.functional.conv2d(image, kernel)}
    rates = {}
    for name, product in products.items():
        times = []
        for index in range(repeats + 2):
            _sync(device)
            start = time.perf_counter()
            product()
            _sync(device)
            if index >= 2:
                times.append(time.perf_counter() - start)
        rates[name] = 2 * n**3 / min(times) / 1e9
    return rates


@dataclass(frozen=True)
class Settings:
    device: torch.device
    warmup: int
    repeats: int
    bf16: bool
    channels_last: bool
    compile: bool


def measure(subject: Subject, size: int, batch: int, train: bool, settings: Settings) -> dict:
    """Median seconds per call, FLOPs and peak memory of one subject at one size, batch and mode."""
    device = settings.device
    module = subject.module.to(device).train(train)
    memory_format = torch.channels_last if settings.channels_last else torch.contiguous_format
    module = module.to(memory_format=memory_format)
    runner = torch.compile(module) if settings.compile else module
    inputs = tuple(x.contiguous(memory_format=memory_format) if isinstance(x, Tensor) and x.ndim == 4 else x
                   for x in subject.inputs(batch, size, device))
    autocast = torch.autocast(device.type, dtype=torch.bfloat16) if settings.bf16 else nullcontext()

    def step() -> None:
        with autocast, (nullcontext() if train else torch.no_grad()):
            outputs = _tensors(subject.call(runner, *inputs))
        if train:
            sum(t.float().mean() for t in outputs).backward()
            module.zero_grad(set_to_none=True)

    with FlopCounterMode(display=False) as counter:
        step()
    times = []
    with PeakMemory(device) as memory:
        for index in range(settings.warmup + settings.repeats):
            _sync(device)
            start = time.perf_counter()
            step()
            _sync(device)
            if index >= settings.warmup:
                times.append(time.perf_counter() - start)
    seconds = statistics.median(times)
    return {"subject": subject.name, "group": subject.group, "part": subject.part, "variant": subject.variant,
            "size": size, "batch": batch, "mode": "train" if train else "forward",
            "parameters": subject.parameters or sum(p.numel() for p in subject.module.parameters()),
            "gflops_per_image": counter.get_total_flops() / batch / 1e9,
            "ms_per_image": seconds / batch * 1e3, "images_per_s": batch / seconds,
            "peak_memory_mb": (memory.added + _bytes(subject.module)) / 2**20}  # weights + what running added


def _bytes(module: nn.Module) -> int:
    return sum(t.numel() * t.element_size() for t in [*module.parameters(), *module.buffers()])


def run(subjects: list[Subject], sizes: list[int], train_batch: int, settings: Settings, progress: bool,
        host_sizes: list[int] | None = None, train_sizes: list[int] | None = None,
        forward_batches: tuple[int, ...] = (1,)) -> list[dict]:
    """Forward at every size (hosts: ``host_sizes``) and batch of ``forward_batches``, batch-1 forward +
    backward at ``train_sizes`` among them, and the training batch at the first size; a configuration whose
    memory (extrapolated from the previous size, x4 per doubling) would not fit is skipped."""
    jobs = []
    for s in subjects:
        own_sizes = sizes if s.group == "encoder" or host_sizes is None else host_sizes
        for size in own_sizes:
            jobs += [(s, size, batch, False) for batch in forward_batches]
            if train_sizes is None or size in train_sizes:
                jobs.append((s, size, 1, True))
    jobs += [(s, sizes[0], max(train_batch, s.min_batch_train), True) for s in subjects if train_batch > 1]
    rows, last_peak = [], {}
    for subject, size, batch, train in tqdm(jobs, disable=not progress, desc="speed"):
        batch = max(batch, subject.min_batch_train) if train else batch
        key = (subject.name, subject.variant, train, batch)
        expected = last_peak.get(key, (0, size))
        needed = expected[0] * (size / expected[1]) ** 2
        if needed > 0.7 * available_memory(settings.device):
            rows.append({"subject": subject.name, "group": subject.group, "part": subject.part,
                         "variant": subject.variant, "size": size, "batch": batch,
                         "mode": "train" if train else "forward", "skipped": f"memory: needs ~{needed / 2**30:.1f} GB"})
            continue
        row = measure(subject, size, batch, train, settings)
        last_peak[key] = (row["peak_memory_mb"] * 2**20, size)
        rows.append(row)
    return rows


# ----------------------------------------------------------------------------- reporting
def machine(device: torch.device) -> dict:
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else (platform.processor()
                                                                            or platform.machine())
    return {"torch": torch.__version__, "device": name, "threads": torch.get_num_threads(),
            "cpus": os.cpu_count(), "python": sys.version.split()[0]}


def find(rows: list[dict], **keys: object) -> dict | None:
    return next((r for r in rows if "skipped" not in r and all(r.get(k) == v for k, v in keys.items())), None)


def targets(rows: list[dict], matmul: float) -> list[tuple[str, str, str]]:
    """The issue's targets: (target, measured, verdict)."""
    out = []
    base = {s: find(rows, subject="tsgl_base", size=s, batch=1, mode="forward") for s in (256, 512, 1024)}
    if base[256]:
        ms = base[256]["ms_per_image"]
        out.append(("tsgl_base 256x256 forward < 450 ms", f"{ms:.0f} ms",
                    _verdict(ms <= 450, ms / 450, "x the target")))
        fraction = base[256]["gflops_per_image"] / (ms / 1e3) / matmul
        out.append(("tsgl_base reaches >= 50% of the matmul throughput", f"{fraction:.0%}",
                    _verdict(fraction >= 0.5, fraction / 0.5, "x the target")))
    for small, large in ((256, 512), (512, 1024)):
        if base[small] and base[large]:
            ratio = base[large]["ms_per_image"] / base[small]["ms_per_image"]
            out.append((f"time({large}) / time({small}) <= 4.3", f"{ratio:.2f}", _verdict(ratio <= 4.3, ratio / 4.3,
                                                                                           "x the bound")))
    if base[1024]:
        gb = base[1024]["peak_memory_mb"] / 1024
        out.append(("tsgl_base 1024x1024 in < 6 GB", f"{gb:.2f} GB", _verdict(gb < 6, gb / 6, "x the bound")))
    trains = [r for r in rows if r.get("subject") == "lama_fourier" and r.get("mode") == "train" and "skipped" not in r]
    if trains:
        batch = max(r["batch"] for r in trains)
        own, tsgl = (find(trains, variant=v, batch=batch, size=trains[0]["size"]) for v in ("own", "tsgl"))
        if own and tsgl:
            ratio = tsgl["images_per_s"] / own["images_per_s"]
            out.append(("swapped lama_fourier trains at >= 0.5x the original's images/s", f"{ratio:.2f}x",
                        _verdict(ratio >= 0.5, ratio / 0.5, "x the target")))
    return out


def _verdict(met: bool, factor: float, unit: str) -> str:
    return "met" if met else f"missed ({factor:.2f}{unit})"


def gemm_note(report: dict) -> str:
    rates = report.get("gemm_gflops", {})
    return " and ".join(f"{rate:.0f} GFLOP/s through {GEMM_ROUTES[name]}" for name, rate in rates.items())


GEMM_ROUTES = {"mm": "torch.mm", "conv1x1": "a 1x1 convolution"}


def markdown(report: dict) -> str:
    info = report["machine"]
    lines = ["# Speed", "", f"torch {info['torch']} | {info['device']} | {info['cpus']} CPUs, {info['threads']} "
             f"threads | python {info['python']} | {report.get('gemm_dtype', 'fp32')} matmul "
             f"{report['matmul_gflops']:.1f} GFLOP/s | "
             f"{report['options']}", "",
             "Median of repeated runs after warm-up; `% matmul` = achieved FLOP/s over the measured matmul "
             f"throughput: the best 2048^3 {report.get('gemm_dtype', 'fp32')} GEMM of the run, {gemm_note(report)}. "
             "Train = forward + backward. "
             "`peak MB` = the subject's weights + the peak memory its runs "
             "added (CPU: rise of the process RSS, a lower bound; CUDA: max allocated).", ""]
    if not report["rows"]:  # --presets --hosts with nothing: only the official comparison was asked for
        return "\n".join(lines)
    lines += ["## Targets", "", "| target | measured | verdict |", "|---|---|---|"]
    lines += [f"| {t} | {m} | {v} |" for t, m, v in targets(report["rows"], report["matmul_gflops"])]
    lines += ["", "## All measurements", "", "| subject | variant | mode | size | batch | params | GFLOPs/img | "
              "ms/img | img/s | % matmul | peak MB | TSGL / own time | TSGL / own FLOPs |", "|---" * 13 + "|"]
    for row in report["rows"]:
        head = f"| {row['subject']} | {row['variant']} | {row['mode']} | {row['size']} | {row['batch']} |"
        if "skipped" in row:
            lines.append(head + f" skipped ({row['skipped']}) | | | | | | | |")
            continue
        fraction = row["gflops_per_image"] / (row["ms_per_image"] / 1e3) / report["matmul_gflops"]
        pair = find(report["rows"], subject=row["subject"], variant="own", mode=row["mode"], size=row["size"],
                    batch=row["batch"])
        paired = pair is not None and row["variant"] == "tsgl"
        ratio = f"{row['ms_per_image'] / pair['ms_per_image']:.2f}x" if paired else ""
        flops = f"{row['gflops_per_image'] / pair['gflops_per_image']:.2f}x" if paired else ""
        lines.append(head + f" {row['parameters']:,} | {row['gflops_per_image']:.2f} | {row['ms_per_image']:.1f} | "
                     f"{row['images_per_s']:.2f} | {fraction:.0%} | {row['peak_memory_mb']:.0f} | {ratio} | {flops} |")
    return "\n".join(lines) + "\n"


def plot(rows: list[dict], path: Path) -> None:
    """Forward time per image (batch 1) against pixels, log-log, with a linear-cost guide."""
    plt = pyplot()
    figure, axis = plt.subplots(figsize=(6.4, 4.4))
    curves: dict[str, list[tuple[int, float]]] = {}
    for row in rows:
        if "skipped" not in row and row["mode"] == "forward" and row["batch"] == 1:
            label = f"{row['subject']} ({row['variant']})"
            curves.setdefault(label, []).append((row["size"] ** 2, row["ms_per_image"]))
    for label, points in curves.items():
        pixels, ms = zip(*sorted(points), strict=True)
        axis.loglog(pixels, ms, marker="o", label=label)
    if curves:
        pixels, ms = zip(*sorted(next(iter(curves.values()))), strict=True)
        axis.loglog(pixels, [ms[0] * p / pixels[0] for p in pixels], "k:", label="linear in pixels")
    axis.set_xlabel("pixels per image")
    axis.set_ylabel("forward ms per image (batch 1)")
    axis.legend(fontsize=7)
    axis.grid(True, which="both", alpha=0.3)
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)


def allocator() -> str:
    """Which malloc the process runs on (the scaling of large maps depends on it: ``benchmarks/README.md``)."""
    preload = os.environ.get("LD_PRELOAD", "")
    return f"allocator: {Path(preload).name} (LD_PRELOAD)" if preload else "allocator: glibc malloc (default)"


def official_report(args: argparse.Namespace, device: torch.device) -> dict:
    """The official encoder beside tsgl_base, interleaved (:mod:`.speed_official`)."""
    if device.type != "cpu":
        raise SystemExit("tsgl-speed: error: --official runs on the CPU (the official code's ops are CUDA or CPU "
                         "fallbacks; bf16 autocast here is the CPU's)")
    official = load_official(args.official, args.official_checkpoint)
    sizes, rounds, warmup = ([64], 1, 0) if args.smoke else (args.official_sizes, args.official_rounds, 1)
    dtypes = (("fp32", torch.float32), ("bf16", torch.bfloat16))
    before = {name: max(gemm_rates(device, dtype=dtype).values()) for name, dtype in dtypes}
    rows = speed_official.compare(official, sizes, rounds, warmup, before)
    # the GEMM rates again after the timing: the better of the two is the reference (a slow moment of a shared
    # machine during the first measurement would inflate every share), and the shares are recomputed with it
    gemm = {name: max(before[name], max(gemm_rates(device, dtype=dtype).values())) for name, dtype in dtypes}
    rows = [speed_official.rescale(row, before[row["dtype"]] / gemm[row["dtype"]]) for row in rows]
    return {"rows": rows, "gemm": gemm, "gemm_before": before, "rounds": rounds, "allocator": allocator()}


def profile_report(args: argparse.Namespace) -> dict:
    """``--profile``: where the time goes, by kind of operator (:mod:`.op_profile`); writes ``profile.md``."""
    if args.device != "cpu":
        raise SystemExit("tsgl-speed: error: --profile runs on the CPU")
    preset = (args.presets or ["tsgl_tiny" if args.smoke else "tsgl_base"])[0]
    size = (args.sizes or [64 if args.smoke else 256])[0]
    device = torch.device("cpu")
    gemm = {name: max(gemm_rates(device, dtype=dtype).values())
            for name, dtype in (("fp32", torch.float32), ("bf16", torch.bfloat16))}
    image, mask = tsgl_inputs(1, size, device)
    profiles = op_profile.dtype_profiles(create_encoder(preset).eval(), (image, mask),
                                         repeats=1 if args.smoke else args.repeats)
    described = " | ".join(f"{k} {v}" for k, v in machine(device).items())
    title = f"{preset}, {size}x{size}, batch 1, no_grad | {described} | {allocator()}"
    text = op_profile.markdown(profiles, gemm, title)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "profile.md").write_text(text)
    print(text)
    print(f"wrote {out / 'profile.md'}")
    return {"preset": preset, "size": size, "gemm": gemm, "profiles": profiles}


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--smoke", action="store_true", help="tsgl_tiny and a tiny LaMa at 64/128 px, one repeat")
    parser.add_argument("--presets", nargs="*", default=None, help=f"TSGL presets (default: {list_encoders()})")
    parser.add_argument("--hosts", nargs="*", default=None, choices=["lama", "ctsdg", "mat"], help="default: all")
    parser.add_argument("--sizes", type=int, nargs="*", default=None, help="default: 256 512 1024")
    parser.add_argument("--host-sizes", type=int, nargs="*", default=None, help="hosts' sizes (default: --sizes)")
    parser.add_argument("--train-sizes", type=int, nargs="*", default=None,
                        help="sizes timed with forward + backward too (default: all)")
    parser.add_argument("--batch", type=int, default=4, help="training batch (timed at the first size)")
    parser.add_argument("--forward-batches", type=int, nargs="+", default=[1],
                        help="forward (eval) batches timed at every size (default: 1)")
    parser.add_argument("--warmup", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--bf16", action="store_true", help="bfloat16 autocast")
    parser.add_argument("--channels-last", action="store_true",
                        help="models and inputs in channels_last (the TSGL encoder computes in it anyway)")
    parser.add_argument("--compile", action="store_true", help="torch.compile every subject (warm-up compiles)")
    parser.add_argument("--official", default=None, metavar="PATH",
                        help="a clone of htyjers/ConvInpaint-TSGL: time its encoder beside tsgl_base (fp32, bf16)")
    parser.add_argument("--official-checkpoint", default=None, help="official generator weights (default: random)")
    parser.add_argument("--official-sizes", type=int, nargs="+", default=[256, 512, 1024])
    parser.add_argument("--official-rounds", type=int, default=5, help="interleaved timing rounds per size")
    parser.add_argument("--profile", action="store_true",
                        help="instead of timing: the operator profile of the first preset (tsgl_base; --smoke: "
                             "tsgl_tiny) at the first size, batch 1, in fp32, bf16 weights and bf16 autocast")
    parser.add_argument("--out", default="outputs/speed")
    parser.add_argument("--no-progress", action="store_true")
    args = parser.parse_args(argv)
    if args.profile:
        return profile_report(args)
    if args.official is not None and not Path(args.official).is_dir():
        parser.error(f"--official must be a folder (a clone of the official code), got {args.official!r}")
    if min(args.forward_batches) < 1:
        parser.error(f"--forward-batches must be >= 1, got {args.forward_batches}")
    device = torch.device(args.device)
    if args.smoke:
        presets, sizes, warmup, repeats = args.presets or ["tsgl_tiny"], args.sizes or [64, 128], 0, 1
        subjects = tsgl_subjects(presets) + lama_subjects("lama_fourier", {"ngf": 8, "n_blocks": 1}, "lama_tiny")
        train_batch = min(args.batch, 2)
    else:
        presets = list_encoders() if args.presets is None else args.presets
        sizes, warmup, repeats = args.sizes or [256, 512, 1024], args.warmup, args.repeats
        hosts = args.hosts if args.hosts is not None else ["lama", "ctsdg", "mat"]
        subjects = tsgl_subjects(presets)
        subjects += lama_subjects("lama_fourier", {}) if "lama" in hosts else []
        subjects += ctsdg_subjects("tsgl_base") if "ctsdg" in hosts else []
        subjects += mat_subjects("mat_256") if "mat" in hosts else []
        train_batch = args.batch
    torch.manual_seed(0)
    settings = Settings(device, warmup, repeats, args.bf16, args.channels_last, args.compile)
    options = ", ".join(f for f, on in (("bf16", args.bf16), ("channels_last", args.channels_last),
                                         ("compile", args.compile)) if on) or "fp32, contiguous inputs, eager"
    gemm_dtype = torch.bfloat16 if args.bf16 else torch.float32  # % matmul is against the GEMM of the run's dtype
    before = gemm_rates(device, dtype=gemm_dtype)
    report = {"machine": machine(device), "options": options, "gemm_dtype": "bf16" if args.bf16 else "fp32"}
    print(" | ".join(f"{k} {v}" for k, v in report["machine"].items()), "| GEMM GFLOP/s:",
          ", ".join(f"{name} {rate:.1f}" for name, rate in before.items()), f"| {options}")
    report["rows"] = run(subjects, sizes, train_batch, settings, not args.no_progress, args.host_sizes,
                         args.train_sizes, tuple(args.forward_batches))
    # measured before and after the subjects, the best of each kind: the machine's rate, not a noisy moment's
    after = gemm_rates(device, dtype=gemm_dtype)
    report["gemm_gflops"] = {name: max(before[name], after[name]) for name in before}
    report["matmul_gflops"] = max(report["gemm_gflops"].values())
    if args.official is not None:
        report["official"] = official_report(args, device)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "speed.json").write_text(json.dumps(report, indent=1))
    text = markdown(report) + ("\n" + speed_official.markdown(report["official"]) if "official" in report else "")
    (out / "speed.md").write_text(text)
    if report["rows"]:
        plot(report["rows"], out / "speed_scaling.png")
    print(text)
    print(f"wrote {out / 'speed.md'}, speed.json" + (" and speed_scaling.png" if report["rows"] else ""))
    return report


def cli() -> None:
    """The ``tsgl-speed`` console script."""
    main()


if __name__ == "__main__":
    cli()
