"""LaMa host: the reference generator, its presets and ``replace_encoder``."""

from .checkpoint import load_checkpoint
from .convert import from_official_tsgl
from .discriminator import PatchDiscriminator
from .ffc import FFCResNetGenerator
from .presets import create_discriminator, create_generator, list_generators
from .swap import TSGLBottleneckStem, default_encoder, parameters_by_part, replace_encoder
from .tsgl_lama import TSGLLamaGenerator

__all__ = [
    "FFCResNetGenerator",
    "PatchDiscriminator",
    "TSGLBottleneckStem",
    "TSGLLamaGenerator",
    "create_discriminator",
    "create_generator",
    "default_encoder",
    "from_official_tsgl",
    "list_generators",
    "load_checkpoint",
    "parameters_by_part",
    "replace_encoder",
]
