"""Before / after of each optimisation of the TSGL encoder, measured side by side in one run.

    python benchmarks/optimisations.py                    # tsgl_base, 256x256, batch 1, fp32
    python benchmarks/optimisations.py --size 128 --repeats 3 --out outputs/optimisations.md

"Before" swaps one optimised layer back to its straightforward reference (the references the tests
compare against, ``tests/test_optimised_paths.py``); "after" is the library as it is. Configurations
are timed in interleaved rounds (median per configuration), so machine noise hits all of them alike;
the table gives each step's time ratio and checks that the outputs agree within 1e-5.
"""

from __future__ import annotations

import argparse
import importlib.util
import statistics
import sys
import time
from pathlib import Path

import torch

from tsgl_encoder import create_encoder

ROOT = Path(__file__).resolve().parents[1]


def load_references():
    spec = importlib.util.spec_from_file_location("optimised_paths", ROOT / "tests" / "test_optimised_paths.py")
    module = sys.modules[spec.name] = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


STEPS = {  # step -> the references (``owner.attribute`` in the tests' REFERENCES) that "before" switches back to
    "leaky-ReLU gain and bias folded into equalized conv / linear": ("EqualizedConv2d.forward",
                                                                     "EqualizedLinear.forward"),
    "SPADE gamma + beta as one conv, '1 +' in its bias": ("SPADE.forward", "GlobalReconstruction.forward"),
    "window attention through scaled_dot_product_attention": ("MaskAwareWindowAttention.forward",),
    "priors: box and 3x3 max filters as shifted sums / maxima": ("priors.dilate3x3", "priors.guided_smooth"),
    "channels_last inside the encoder": ("TSGLEncoder.memory_format",),
}


class Reverted:
    """Context manager: the named optimisations use their straightforward reference inside the block."""

    def __init__(self, references, keys: tuple[str, ...]) -> None:
        self.swaps = [(owner, attribute, value) for owner, attribute, value in references.REFERENCES
                      if references.reference_key(owner, attribute) in keys]
        if len(self.swaps) != len(keys):
            raise ValueError(f"not all of {keys} are in the tests' REFERENCES")
        self.saved = []

    def __enter__(self) -> None:
        self.saved = [(owner, attribute, getattr(owner, attribute)) for owner, attribute, _ in self.swaps]
        for owner, attribute, value in self.swaps:
            setattr(owner, attribute, value)

    def __exit__(self, *exc: object) -> None:
        for owner, attribute, value in self.saved:
            setattr(owner, attribute, value)


def main(argv: list[str] | None = None) -> str:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--preset", default="tsgl_base")
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--out", default="outputs/optimisations.md")
    args = parser.parse_args(argv)
    references = load_references()
    torch.manual_seed(0)
    encoder = create_encoder(args.preset).eval()
    image = torch.rand(1, 3, args.size, args.size) * 2 - 1
    mask = torch.ones(1, 1, args.size, args.size)
    mask[..., args.size // 4 : args.size // 2, args.size // 8 : -args.size // 8] = 0
    configs = {"all optimisations (the library)": ()} | {f"before: {step}": names for step, names in STEPS.items()}
    configs["before: all of the above"] = tuple(n for names in STEPS.values() for n in names)

    def forward(names: tuple[str, ...]) -> tuple[float, list[torch.Tensor]]:
        with Reverted(references, names), torch.no_grad():
            start = time.perf_counter()
            out = encoder(image, mask)
            return time.perf_counter() - start, out

    outputs = {name: forward(names)[1] for name, names in configs.items()}  # warm-up + outputs
    times = {name: [] for name in configs}
    for _ in range(args.repeats):  # interleaved rounds
        for name, names in configs.items():
            times[name].append(forward(names)[0])
    base_name = next(iter(configs))
    base = statistics.median(times[base_name])
    lines = [f"# Optimisations of {args.preset}: before / after", "",
             f"torch {torch.__version__} | {torch.get_num_threads()} threads | {args.size}x{args.size}, batch 1, "
             f"fp32, eval | median of {args.repeats} interleaved rounds", "",
             "| configuration | ms | time / library's | max abs diff of outputs vs library |", "|---|---|---|---|"]
    for name in configs:
        ms = statistics.median(times[name]) * 1e3
        diff = max((a - b).abs().max().item() for a, b in zip(outputs[name], outputs[base_name], strict=True))
        lines.append(f"| {name} | {ms:.0f} | {ms / base / 1e3:.2f}x | {diff:.1e} |")
    table = "\n".join(lines) + "\n"
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(table)
    print(table)
    return table


if __name__ == "__main__":
    main()
