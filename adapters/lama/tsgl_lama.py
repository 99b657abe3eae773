"""The official 512x512 TSGL(LaMa) generator (``TSGL_Lama/*/model.py``), built from this library's parts.

It is LaMa with 5 downsamplings, widths capped at 256 and 9 FFC blocks, whose encoder is the
conv-only TSGL encoder (preset ``tsgl_lama``): its deepest reconstructed map (256 channels at 1/32)
enters the FFC blocks as local 64 / global 192, without projection. Training adds an auxiliary
**edge head** (official ``up_high``: 3 FFC blocks and LaMa's decoder ending in a 1-channel sigmoid)
on the deepest structure map, supervised with the Canny edges.

The official image head ends in ``tanh`` (its test code feeds images in [0, 1] and composites the
tanh output with them); here the default is a sigmoid, like every LaMa generator of this library
(image and output in [0, 1]); ``head="tanh"`` is the official head, which converted official weights
use (:func:`adapters.lama.from_official_tsgl`).
"""

from __future__ import annotations

from torch import Tensor, nn

from tsgl_encoder import create_encoder

from .ffc import FFCResNetGenerator
from .swap import replace_encoder

TSGL_LAMA_KWARGS = dict(
    input_nc=4, ngf=64, n_downsampling=5, max_features=256,
    init_conv_kwargs={"ratio_gin": 0, "ratio_gout": 0, "enable_lfu": False},
    downsample_conv_kwargs={"ratio_gin": 0, "ratio_gout": 0, "enable_lfu": False},
    resnet_conv_kwargs={"ratio_gin": 0.75, "ratio_gout": 0.75, "enable_lfu": False},
)


HEADS = ("sigmoid", "tanh")  # the library's LaMa convention, the official TSGL(LaMa) head


class TSGLLamaGenerator(FFCResNetGenerator):
    """``model(x)`` like LaMa (``x = cat(img * (1 - mask), mask)``, [0, 1], mask 1 = hole).

    :meth:`forward_with_edges` also returns the edge head's prediction for structure supervision.
    """

    def __init__(self, n_blocks: int = 9, edge_blocks: int = 3, encoder_preset: str = "tsgl_lama",
                 head: str = "sigmoid", **overrides) -> None:
        if head not in HEADS:
            raise ValueError(f"head must be one of {HEADS}, got {head!r}")
        kwargs = {**TSGL_LAMA_KWARGS, **overrides}
        super().__init__(output_nc=3, n_blocks=n_blocks, add_out_act=head, **kwargs)
        self.head = head
        replace_encoder(self, encoder=create_encoder(encoder_preset), project=False)
        head = FFCResNetGenerator(output_nc=1, n_blocks=edge_blocks, add_out_act="sigmoid", **kwargs)
        self.edge_head = nn.Sequential(*head.model[2 + self.n_downsampling :])  # FFC blocks .. sigmoid, 1 channel

    def forward_with_edges(self, x: Tensor) -> tuple[Tensor, Tensor]:
        """``(image, edge)``: the inpainted image and the edge map predicted from the structure stream."""
        stem = self.model[0]
        padded, (height, width) = self.pad_input(x)
        bottleneck, features = stem.encode(padded)
        structure = features.structure[-1][..., : bottleneck[0].shape[-2], : bottleneck[0].shape[-1]]
        image = self.model[1:](bottleneck)
        edge = self.edge_head(tuple(structure.split(stem.split, dim=1)))
        return image[..., :height, :width], edge[..., :height, :width]


def tsgl_lama_512(**overrides) -> nn.Module:
    """The official TSGL(LaMa) configuration: 38,609,348 parameters with the edge head (``head="tanh"``:
    the official output activation)."""
    return TSGLLamaGenerator(**overrides)
