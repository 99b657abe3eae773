"""Host-agnostic training and evaluation of inpainting generators (own encoder vs TSGL's)."""

from .adversary import Adversary, PatchGANAdversary, frozen
from .evaluate import evaluate
from .host import VARIANTS, Host
from .loop import TrainConfig, train
from .spec import Batch, LossNetworks, LossWeights, Prediction

__all__ = [
    "VARIANTS",
    "Adversary",
    "Batch",
    "Host",
    "LossNetworks",
    "LossWeights",
    "PatchGANAdversary",
    "Prediction",
    "TrainConfig",
    "evaluate",
    "frozen",
    "train",
]
