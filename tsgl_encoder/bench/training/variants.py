"""The variants a host is trained as: its own encoder, TSGL's, and the controls that separate their causes.

"Substituting the encoder improves the host" mixes three changes: another architecture, more
parameters, and (for LaMa) an auxiliary structure (edge) loss that only the TSGL variant receives.
The controls take them apart:

=================  ==========================================================================
``own``            the host as published
``own_wide``       its own encoder widened until the generator has the TSGL variant's parameter
                   count (within 5%): more parameters, same architecture
``own_edge``       its own encoder with TSGL's auxiliary edge head and structure loss (LaMa)
``tsgl``           TSGL's encoder swapped in (with the edge head where the host trains one)
``tsgl_no_edge``   TSGL's encoder without the edge head and its loss
``tsgl:NAME``      TSGL's encoder with ablation ``NAME`` of :data:`tsgl_encoder.ABLATIONS`
                   (``tsgl:global_only``, ``tsgl:prior=edge``, ...): the paper's RQ2 / RQ3
=================  ==========================================================================
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from torch import Tensor, nn

from ...registry import ABLATIONS

DEFAULT_VARIANTS = ("own", "tsgl")
PARAMETER_TOLERANCE = 0.05  # own_wide's generator lands within 5% of the TSGL variant's


@dataclass(frozen=True)
class Variant:
    """What a variant changes: which ``encoder`` (``"own"`` / ``"tsgl"``), whether the own encoder is
    ``wide``, whether the generator carries the auxiliary ``edge_head`` (and so the structure loss), and
    the TSGL ``ablation`` (a key of :data:`~tsgl_encoder.ABLATIONS`, or None)."""

    name: str
    encoder: str
    edge_head: bool
    wide: bool = False
    ablation: str | None = None

    def __str__(self) -> str:
        return self.name


CONTROL_VARIANTS = {variant.name: variant for variant in (
    Variant("own", "own", edge_head=False),
    Variant("own_wide", "own", edge_head=False, wide=True),
    Variant("own_edge", "own", edge_head=True),
    Variant("tsgl", "tsgl", edge_head=True),
    Variant("tsgl_no_edge", "tsgl", edge_head=False),
)}
CONTROLS = tuple(CONTROL_VARIANTS)  # their names, in the table order of the module docstring


def known_variants() -> list[str]:
    return [*CONTROL_VARIANTS, *(f"tsgl:{name}" for name in ABLATIONS)]


def parse_variant(variant: str | Variant) -> Variant:
    """``"own"``, ``"own_wide"``, ``"own_edge"``, ``"tsgl"``, ``"tsgl_no_edge"`` or ``"tsgl:NAME"``."""
    if isinstance(variant, Variant):
        return variant
    if not isinstance(variant, str):
        raise TypeError(f"variant must be a string such as 'own' or 'tsgl:global_only', got {type(variant).__name__}")
    if variant in CONTROL_VARIANTS:
        return CONTROL_VARIANTS[variant]
    prefix, _, ablation = variant.partition(":")
    if prefix == "tsgl" and ablation in ABLATIONS:
        return Variant(variant, "tsgl", edge_head=True, ablation=ablation)
    raise ValueError(f"variant must be one of {known_variants()}, got {variant!r}")


def fit_width(count: Callable[[int], int], target: int, low: int, high: int) -> int:
    """The integer width ``w`` in ``[low, high]`` whose ``count(w)`` (increasing in ``w``) is closest to
    ``target``; ``ValueError`` when even ``count(high)`` or ``count(low)`` leaves it out of reach."""
    if count(low) > target or count(high) < target:
        raise ValueError(f"no width in [{low}, {high}] reaches {target:,} parameters "
                         f"(from {count(low):,} to {count(high):,})")
    while high - low > 1:  # invariant: count(low) <= target <= count(high)
        middle = (low + high) // 2
        low, high = (middle, high) if count(middle) <= target else (low, middle)
    return min((low, high), key=lambda width: abs(count(width) - target))


class WidenedStage(nn.Module):
    """``own_wide`` where the decoder fixes the encoder's widths (skip connections): a stage of the host's
    mask-aware encoder followed by a residual pair of the host's own partial convs ``C -> hidden -> C``.

    ``stage``, ``expand`` and ``project`` map ``(features, mask) -> (features, mask)``; the stage's output
    width (what the decoder reads) is unchanged, ``hidden`` sets the added capacity.
    """

    def __init__(self, stage: nn.Module, expand: nn.Module, project: nn.Module) -> None:
        super().__init__()
        self.stage, self.expand, self.project = stage, expand, project

    def forward(self, x: Tensor, mask: Tensor) -> tuple[Tensor, Tensor]:
        x, mask = self.stage(x, mask)  # (B, C, h, w)
        widened, widened_mask = self.project(*self.expand(x, mask))  # (B, hidden, h, w) -> (B, C, h, w)
        return x + widened, widened_mask


class ResidualWidening(nn.Module):
    """:class:`WidenedStage` for stages that map ``features -> features`` (no mask): ``stage(x)`` plus a
    residual ``project(expand(stage(x)))``, ``C -> hidden -> C``."""

    def __init__(self, stage: nn.Module, expand: nn.Module, project: nn.Module) -> None:
        super().__init__()
        self.stage, self.expand, self.project = stage, expand, project

    def forward(self, x: Tensor) -> Tensor:
        x = self.stage(x)  # (B, C, h, w)
        return x + self.project(self.expand(x))  # (B, hidden, h, w) -> (B, C, h, w)
