"""CTSDG host: reference generator and discriminator (Guo et al., ICCV 2021) with the reference's module names."""

from .checkpoint import load_checkpoint
from .discriminator import Discriminator, EdgeDetector, StructureBranch, TextureBranch
from .generator import Generator
from .presets import create_discriminator, create_generator, list_generators
from .swap import TSGLSkipEncoder, parameters_by_part, replace_encoder

__all__ = [
    "Discriminator",
    "EdgeDetector",
    "Generator",
    "StructureBranch",
    "TSGLSkipEncoder",
    "TextureBranch",
    "create_discriminator",
    "create_generator",
    "list_generators",
    "load_checkpoint",
    "parameters_by_part",
    "replace_encoder",
]
