"""tsgl-encoder: the TSGL inpainting encoder as a standalone feature-pyramid backbone."""

from .encoder import TSGLConfig, TSGLEncoder, TSGLFeatures
from .inpainting import SizeRule, inpaint
from .registry import ABLATIONS, ablation_overrides, create_encoder, get_config, list_encoders

__version__ = "0.5.0"

__all__ = [
    "ABLATIONS",
    "SizeRule",
    "TSGLConfig",
    "TSGLEncoder",
    "TSGLFeatures",
    "ablation_overrides",
    "create_encoder",
    "get_config",
    "inpaint",
    "list_encoders",
]
