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
import json
from dataclasses import dataclass
from pathlib import Path

import torch

from ...outputs import OutputError, OutputFolder, check_location
from ...registry import create_encoder, list_encoders
from ..hosts import HOSTS, LamaHost, create_host
from ..machine import machine
from ..parity import load_official
from ..training import host_available
from . import generator, op_profile, parity
from .gemm import allocator, gemm_rates
from .report import markdown, plot
from .subjects import host_subjects, tsgl_inputs, tsgl_subjects
from .timing import Settings, run


@dataclass(frozen=True)
class OfficialComparison:
    """``--official``: the official encoder (a clone of htyjers/ConvInpaint-TSGL at ``code``) beside tsgl_base."""

    code: str
    checkpoint: str | None = None
    sizes: tuple[int, ...] = (256, 512, 1024)
    rounds: int = 5
    warmup: int = 1


def official_report(comparison: OfficialComparison, device: torch.device) -> dict:
    """The official encoder beside tsgl_base, interleaved (:mod:`.parity`)."""
    if device.type != "cpu":
        raise SystemExit("tsgl-speed: error: --official runs on the CPU (the official code's ops are CUDA or CPU "
                         "fallbacks; bf16 autocast here is the CPU's)")
    official = load_official(comparison.code, comparison.checkpoint)
    dtypes = (("fp32", torch.float32), ("bf16", torch.bfloat16))
    before = {name: max(gemm_rates(device, dtype=dtype).values()) for name, dtype in dtypes}
    rows = parity.compare(official, list(comparison.sizes), comparison.rounds, comparison.warmup, before)
    # the GEMM rates again after the timing: the better of the two is the reference (a slow moment of a shared
    # machine during the first measurement would inflate every share), and the shares are recomputed with it
    gemm = {name: max(before[name], max(gemm_rates(device, dtype=dtype).values())) for name, dtype in dtypes}
    rows = [parity.rescale(row, before[row["dtype"]] / gemm[row["dtype"]]) for row in rows]
    return {"rows": rows, "gemm": gemm, "gemm_before": before, "rounds": comparison.rounds, "allocator": allocator()}


def profile_report(preset: str, size: int, repeats: int, out: Path) -> dict:
    """``--profile``: where the time of ``preset``'s forward goes, by kind of operator (:mod:`.op_profile`);
    writes ``profile.md`` into ``out``."""
    device = torch.device("cpu")
    gemm = {name: max(gemm_rates(device, dtype=dtype).values())
            for name, dtype in (("fp32", torch.float32), ("bf16", torch.bfloat16))}
    image, mask = tsgl_inputs(1, size, device)
    profiles = op_profile.dtype_profiles(create_encoder(preset).eval(), (image, mask), repeats=repeats)
    described = " | ".join(f"{k} {v}" for k, v in machine(device).items())
    title = f"{preset}, {size}x{size}, batch 1, no_grad | {described} | {allocator()}"
    text = op_profile.markdown(profiles, gemm, title)
    out.mkdir(parents=True, exist_ok=True)
    (out / "profile.md").write_text(text)
    print(text)
    print(f"wrote {out / 'profile.md'}")
    return {"preset": preset, "size": size, "gemm": gemm, "profiles": profiles}


def subjects_of(smoke: bool, presets: list[str] | None, hosts: list[str] | None) -> list:
    """``--smoke``: tsgl_tiny (or ``presets``) and a tiny LaMa; else the presets and each host as published."""
    if smoke:
        return tsgl_subjects(presets or ["tsgl_tiny"]) + host_subjects(
            LamaHost(overrides={"ngf": 8, "n_blocks": 1}), "lama_tiny")
    subjects = tsgl_subjects(list_encoders() if presets is None else presets)
    for name in HOSTS if hosts is None else hosts:
        host = create_host(name)
        if host_available(host, named=hosts is not None):
            subjects += host_subjects(host)
    return subjects


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="tsgl-speed", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--smoke", action="store_true", help="tsgl_tiny and a tiny LaMa at 64/128 px, one repeat")
    parser.add_argument("--presets", nargs="*", default=None, help=f"TSGL presets (default: {list_encoders()})")
    parser.add_argument("--hosts", nargs="*", default=None, choices=list(HOSTS), help="default: all")
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
    parser.add_argument("--official-generator", action="store_true",
                        help="with --official: also the whole tsgl_medfe beside the official TSGL(MEDFE) Generator "
                             "at 256, batch 1 (time, peak memory and outputs; fp32, bf16 weights, bf16 autocast; "
                             "each in a fresh process)")
    parser.add_argument("--profile", action="store_true",
                        help="instead of timing: the operator profile of the first preset (tsgl_base; --smoke: "
                             "tsgl_tiny) at the first size, batch 1, in fp32, bf16 weights and bf16 autocast")
    parser.add_argument("--out", default="outputs/speed",
                        help="output folder, outside --official: files this program wrote there before are replaced, "
                             "any other file never is; one run at a time")
    parser.add_argument("--no-progress", action="store_true")
    return parser


@dataclass(frozen=True)
class TimingPlan:
    """What to time and how (see :func:`~.timing.run`)."""

    sizes: tuple[int, ...]
    train_batch: int
    settings: Settings
    host_sizes: tuple[int, ...] | None = None
    train_sizes: tuple[int, ...] | None = None
    forward_batches: tuple[int, ...] = (1,)
    progress: bool = True

    @property
    def options(self) -> str:
        settings = self.settings
        chosen = (("bf16", settings.bf16), ("channels_last", settings.channels_last), ("compile", settings.compile))
        return ", ".join(name for name, on in chosen if on) or "fp32, contiguous inputs, eager"


def timing_report(subjects: list, plan: TimingPlan) -> dict:
    """Times every subject by ``plan``; the report with the machine and its GEMM rates (before and after)."""
    device, bf16 = plan.settings.device, plan.settings.bf16
    torch.manual_seed(0)
    gemm_dtype = torch.bfloat16 if bf16 else torch.float32  # % matmul is against the GEMM of the run's dtype
    before = gemm_rates(device, dtype=gemm_dtype)
    report = {"machine": machine(device), "options": plan.options, "gemm_dtype": "bf16" if bf16 else "fp32"}
    print(" | ".join(f"{k} {v}" for k, v in report["machine"].items()), "| GEMM GFLOP/s:",
          ", ".join(f"{name} {rate:.1f}" for name, rate in before.items()), f"| {plan.options}")
    report["rows"] = run(subjects, list(plan.sizes), plan.train_batch, plan.settings, plan.progress,
                         None if plan.host_sizes is None else list(plan.host_sizes),
                         None if plan.train_sizes is None else list(plan.train_sizes), plan.forward_batches)
    # measured before and after the subjects, the best of each kind: the machine's rate, not a noisy moment's
    after = gemm_rates(device, dtype=gemm_dtype)
    report["gemm_gflops"] = {name: max(before[name], after[name]) for name in before}
    report["matmul_gflops"] = max(report["gemm_gflops"].values())
    return report


def write_report(report: dict, out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    (out / "speed.json").write_text(json.dumps(report, indent=1))
    text = markdown(report) + ("\n" + parity.markdown(report["official"]) if "official" in report else "")
    text += "\n" + generator.markdown(report["official_generator"]) if "official_generator" in report else ""
    (out / "speed.md").write_text(text)
    if report["rows"]:
        plot(report["rows"], out / "speed_scaling.png")
    print(text)
    print(f"wrote {out / 'speed.md'}, speed.json" + (" and speed_scaling.png" if report["rows"] else ""))


def _optional(values: list[int] | None) -> tuple[int, ...] | None:
    return None if values is None else tuple(values)


def main(argv: list[str] | None = None) -> dict:
    parser = build_parser()
    args = parser.parse_args(argv)
    out = Path(args.out)
    try:
        check_location(out, [("--official", args.official), ("--official-checkpoint", args.official_checkpoint)])
        with OutputFolder(out, "tsgl-speed") as outputs:
            outputs.reserve(out / name for name in ("profile.md",) if args.profile)
            outputs.reserve(out / name for name in ("speed.json", "speed.md", "speed_scaling.png") if not args.profile)
            return _main(parser, args)
    except OutputError as error:
        parser.exit(2, f"{parser.prog}: error: {error}\n")


def _main(parser: argparse.ArgumentParser, args: argparse.Namespace) -> dict:
    if args.profile:
        if args.device != "cpu":
            raise SystemExit("tsgl-speed: error: --profile runs on the CPU")
        preset = (args.presets or ["tsgl_tiny" if args.smoke else "tsgl_base"])[0]
        size = (args.sizes or [64 if args.smoke else 256])[0]
        return profile_report(preset, size, 1 if args.smoke else args.repeats, Path(args.out))
    if args.official is not None and not Path(args.official).is_dir():
        parser.error(f"--official must be a folder (a clone of the official code), got {args.official!r}")
    if args.official_generator and args.official is None:
        parser.error("--official-generator needs --official PATH (a clone of the official code)")
    if min(args.forward_batches) < 1:
        parser.error(f"--forward-batches must be >= 1, got {args.forward_batches}")
    device = torch.device(args.device)
    if args.smoke:
        sizes, warmup, repeats, train_batch = args.sizes or [64, 128], 0, 1, min(args.batch, 2)
    else:
        sizes, warmup, repeats, train_batch = args.sizes or [256, 512, 1024], args.warmup, args.repeats, args.batch
    settings = Settings(device, warmup, repeats, args.bf16, args.channels_last, args.compile)
    plan = TimingPlan(tuple(sizes), train_batch, settings, _optional(args.host_sizes), _optional(args.train_sizes),
                      tuple(args.forward_batches), not args.no_progress)
    report = timing_report(subjects_of(args.smoke, args.presets, args.hosts), plan)
    if args.official is not None:
        comparison = OfficialComparison(args.official, args.official_checkpoint, tuple(args.official_sizes),
                                        args.official_rounds, 1)
        if args.smoke:
            comparison = OfficialComparison(args.official, args.official_checkpoint, (64,), 1, 0)
        report["official"] = official_report(comparison, device)
    if args.official_generator:
        report["official_generator"] = generator.compare(generator.GeneratorComparison(
            args.official, args.official_checkpoint, repeats=1 if args.smoke else args.official_rounds,
            threads=torch.get_num_threads()))
    write_report(report, Path(args.out))
    return report


def cli() -> None:
    """The ``tsgl-speed`` console script."""
    main()


if __name__ == "__main__":
    cli()
