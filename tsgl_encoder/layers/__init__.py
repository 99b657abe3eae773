"""Building blocks shared by the TSGL encoder and the host adapters (MAT reuses the texture layers)."""

from .conv import ConvBNReLU
from .equalized import EqualizedConv2d, EqualizedLinear, bias_act
from .partial_conv import PartialConv2d, PartialEqualizedConv2d, mask_update
from .window_attention import MaskAwareWindowAttention, Mlp, WindowBlock, window_merge, window_partition

__all__ = [
    "ConvBNReLU",
    "EqualizedConv2d",
    "EqualizedLinear",
    "MaskAwareWindowAttention",
    "Mlp",
    "PartialConv2d",
    "PartialEqualizedConv2d",
    "WindowBlock",
    "bias_act",
    "mask_update",
    "window_merge",
    "window_partition",
]
