"""MEDFE host (Liu et al., "Rethinking Image Inpainting via a Mutual Encoder-Decoder with Feature Equalizations",
ECCV 2020) and the paper's own 256x256 model, TSGL(MEDFE) (htyjers/ConvInpaint-TSGL ``TSGL_MEDFE``).

``create_generator("medfe")``: MEDFE with upstream's module names (``netEN``, ``netMEDFE``, ``netDE``), so its
three state_dicts load strictly; ``create_generator("tsgl_medfe")``: the official TSGL(MEDFE) inference
generator (TSGL encoder + MEDFE's ``pc_block`` + BatchNorm UNet decoder). Both are called
``model(image, mask)`` with the image in [-1, 1] and mask 1 = known, at any size that is a multiple of 64.
"""

from .checkpoint import (
    STRUCTURE_KEYS,
    load_checkpoint,
    load_medfe,
    load_tsgl_medfe,
    official_to_tsgl_medfe,
    tsgl_medfe_to_official,
)
from .discriminator import MEDFEDiscriminator, NLayerDiscriminator
from .equalisation import BASE, SOFTMAX_AXES
from .medfe import FILL_COLOUR, InnerCos, MEDFEGenerator, PCblock
from .pcconv import PCconv
from .presets import create_discriminator, create_generator, list_generators
from .priors import PRIORS, official_edge_gray, wrap_like_to_pil_image
from .structure_head import StructureHead
from .swap import parameters_by_part, replace_encoder
from .tsgl_medfe import TSGLMEDFEGenerator, tsgl_medfe
from .unet import Decoder, Encoder

__all__ = [
    "BASE",
    "FILL_COLOUR",
    "PRIORS",
    "SOFTMAX_AXES",
    "STRUCTURE_KEYS",
    "Decoder",
    "Encoder",
    "InnerCos",
    "MEDFEDiscriminator",
    "MEDFEGenerator",
    "NLayerDiscriminator",
    "PCblock",
    "PCconv",
    "StructureHead",
    "TSGLMEDFEGenerator",
    "create_discriminator",
    "create_generator",
    "list_generators",
    "load_checkpoint",
    "load_medfe",
    "load_tsgl_medfe",
    "official_edge_gray",
    "official_to_tsgl_medfe",
    "parameters_by_part",
    "replace_encoder",
    "tsgl_medfe",
    "tsgl_medfe_to_official",
    "wrap_like_to_pil_image",
]
