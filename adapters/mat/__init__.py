"""MAT host (Li et al., "MAT: Mask-Aware Transformer for Large Hole Image Inpainting", CVPR 2022).

A reference generator and discriminator written here with upstream's module names (fenglinglwb/MAT), so upstream
``G_ema`` / ``D`` state_dicts load with ``strict=True``; the StyleGAN2 ops are plain PyTorch.
"""

from .checkpoint import load_checkpoint
from .discriminator import DisBlock, Discriminator, DisFromRGB, MinibatchStdLayer
from .first_stage import DecStyleBlock, FirstStage
from .generator import Generator, SynthesisNet, check_inputs
from .layers import Conv2dLayer, Conv2dLayerPartial, FullyConnectedLayer
from .mapping import MappingNet
from .modulated import NOISE_MODES, ModulatedConv2d, StyleConv, ToRGB
from .presets import create_discriminator, create_generator, list_generators
from .second_stage import ConvBlockDown, DecBlock, DecBlockFirstV2, Decoder, EncFromRGB, Encoder, ToStyle
from .swap import default_encoder, parameters_by_part, replace_encoder
from .transformer import BasicLayer, PatchMerging, PatchUpsampling, SwinTransformerBlock

__all__ = [
    "NOISE_MODES",
    "BasicLayer",
    "Conv2dLayer",
    "Conv2dLayerPartial",
    "ConvBlockDown",
    "DecBlock",
    "DecBlockFirstV2",
    "DecStyleBlock",
    "Decoder",
    "DisBlock",
    "DisFromRGB",
    "Discriminator",
    "EncFromRGB",
    "Encoder",
    "FirstStage",
    "FullyConnectedLayer",
    "Generator",
    "MappingNet",
    "MinibatchStdLayer",
    "ModulatedConv2d",
    "PatchMerging",
    "PatchUpsampling",
    "StyleConv",
    "SwinTransformerBlock",
    "SynthesisNet",
    "ToRGB",
    "ToStyle",
    "check_inputs",
    "create_discriminator",
    "create_generator",
    "default_encoder",
    "list_generators",
    "load_checkpoint",
    "parameters_by_part",
    "replace_encoder",
]
