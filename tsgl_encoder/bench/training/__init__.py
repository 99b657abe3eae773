"""Host-agnostic training and evaluation of inpainting generators (own encoder vs TSGL's)."""

from .adversary import Adversary, PatchGANAdversary, frozen
from .evaluate import evaluate
from .host import Host, generator_parameters, host_available
from .loop import TrainConfig, train
from .spec import Batch, EncoderPart, LossNetworks, LossWeights, Prediction, example_batch
from .variants import (
    CONTROLS,
    DEFAULT_VARIANTS,
    ResidualWidening,
    Variant,
    WidenedStage,
    known_variants,
    parse_variant,
)

__all__ = [
    "CONTROLS",
    "DEFAULT_VARIANTS",
    "Adversary",
    "Batch",
    "EncoderPart",
    "Host",
    "LossNetworks",
    "LossWeights",
    "PatchGANAdversary",
    "Prediction",
    "ResidualWidening",
    "TrainConfig",
    "Variant",
    "WidenedStage",
    "evaluate",
    "example_batch",
    "frozen",
    "generator_parameters",
    "host_available",
    "known_variants",
    "parse_variant",
    "train",
]
