"""Host-agnostic training and evaluation of inpainting generators (own encoder vs TSGL's)."""

from .evaluate import evaluate
from .host import Host, LossWeights, Prediction
from .loop import TrainConfig, train

__all__ = ["Host", "LossWeights", "Prediction", "TrainConfig", "evaluate", "train"]
