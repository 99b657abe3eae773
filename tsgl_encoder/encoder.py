"""TSGLEncoder: the two streams, the per-scale reconstruction and the pyramid, behind one interface.

Paper: "Thinking inside the Convolution for Image Inpainting: Reconstructing Texture via Structure
under Global and Local Side" (arXiv 2602.03013). Reference implementation: the official
``TSGL_MEDFE`` code (``Generator``'s encoder part: ``en_high_*``, ``en_low_*``, ``h2l_*``,
``en_fusion_*``).

Data flow for ``K`` scales (``K = 5`` in every preset)::

    S_1..S_K  = StructureStream(cat(edge, gray, mask))                 # reductions 2 .. 2**K
    T_0, x_1  = TextureHead(cat(image, [smooth], mask))                # full res, 1/2
    F_1       = Guidance_1(x_1, S_1, R_1 = T_0 - up2(x_1))
    x_k       = TextureStage_k(F_{k-1});  F_k = Guidance_k(x_k, S_k, R_k = F_{k-1} - up2(x_k))
    f_k       = ReLU(conv1x1(F_k));       f_{K+1} = CrossLayerBalance(f_1 .. f_K)

The output is the pyramid ``[f_1 .. f_{K+1}]``, finest first.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from typing import NamedTuple

import torch
from timm.models import FeatureInfo
from torch import Tensor, nn

from . import intermediates
from .balance import CrossLayerBalance, PyramidProjection
from .config_checks import check_fields
from .guidance import GuidanceBlock, SplitGuidanceBlock
from .hub import ConfigHubMixin
from .layers.inference_cache import caller_memory_format
from .priors import StructurePriors
from .structure import StructureStream
from .texture import TextureStream
from .validation import check_image_mask_priors, value_checks_enabled

#: which of (edge, gray) reach the structure stream; the others are zeroed (the "which prior" ablation)
STRUCTURE_PRIORS = {"edge+gray": (1.0, 1.0), "edge": (1.0, 0.0), "gray": (0.0, 1.0), "none": (0.0, 0.0)}


@dataclass(frozen=True)
class TSGLConfig:
    """Hyper-parameters of a :class:`TSGLEncoder` (defaults: the official 256x256 model)."""

    structure_channels: tuple[int, ...] = (64, 128, 256, 512, 1024)
    structure_kernels: tuple[int, ...] = (7, 5, 5, 3, 3)
    structure_layer: str = "partial_conv"  # or "conv": reflect-padded conv + BN + ReLU (TSGL_Lama)
    structure_stem: int = 0  # channels of a stride-1 7x7 stem before S_1 (0: none; TSGL_Lama: 64)
    texture_dim: int = 180
    texture_block: str = "window_attention"  # or "conv": one stride-2 conv + BN + ReLU per stage
    texture_stem_kernel: int = 3
    depths: tuple[int, ...] = (2, 2, 6, 6)  # window-attention blocks per stage
    num_heads: int = 4
    window_size: int = 8
    mlp_ratio: float = 2.0
    tau: float = 100.0
    # The official model builds its 1/32 stage for an 8x8 map: no shifted windows, and it is called
    # without the hole mask (plain convs, unmasked attention). Kept so that checkpoints match.
    shift_windows: tuple[bool, ...] = (True, True, True, False)
    mask_aware_stages: tuple[bool, ...] = (True, True, True, False)
    spade_hidden: int = 128
    guidance_identity: bool = False
    residual_resize: str = "bilinear"  # how R_k reaches x_k's size ("nearest" in TSGL_Lama)
    deepest_split: tuple[int, ...] = ()  # channel groups reconstructed apart at the deepest scale
    # None: no projections and no cross-layer balance; the pyramid is F_1 .. F_K (TSGL_Lama)
    pyramid_channels: tuple[int, ...] | None = (64, 128, 256, 512, 512, 512)
    smooth_input: bool = True
    edge_sigma: float = 2.0
    # Ablations (registry.ABLATIONS names them); the defaults are the method as published.
    guidance_sides: str = "both"  # RQ2: "global" / "local" builds one side of the guidance only
    local_condition: str = "residual"  # RQ3: "finer" conditions the local side on F_{k-1}, not R_k
    cross_layer_balance: bool = True  # False: the deepest level is computed from f_K alone
    structure_priors: str = "edge+gray"  # which priors the structure stream reads: "edge", "gray" or "none"
    # the smoothed-image prior (smooth_input=True) computed when none is passed: "guided" (the self-guided filter
    # standing in for RTV) or "rtv" (mask-aware RTV, tsgl_encoder.rtv; the official model reads RTV images)
    smooth_prior: str = "guided"

    def __post_init__(self) -> None:
        for field in dataclasses.fields(self):  # lists (from JSON) become the tuples the fields declare
            if isinstance(getattr(self, field.name), list):
                object.__setattr__(self, field.name, tuple(getattr(self, field.name)))
        check_fields(self)  # kinds and ranges of each field; the relations between fields follow
        if self.structure_priors not in STRUCTURE_PRIORS:
            raise ValueError(f"structure_priors must be one of {tuple(STRUCTURE_PRIORS)}, "
                             f"got {self.structure_priors!r}")
        if self.smooth_prior != "guided" and not self.smooth_input:
            raise ValueError(f"smooth_prior={self.smooth_prior!r} needs smooth_input=True: this configuration reads no "
                             f"smoothed image")
        if not self.cross_layer_balance and self.pyramid_channels is None:
            raise ValueError("cross_layer_balance=False needs pyramid_channels: this configuration has no balance")
        scales = len(self.structure_channels)
        expected = {
            "structure_kernels": (len(self.structure_kernels), scales),
            "depths": (len(self.depths), scales - 1),
            "shift_windows": (len(self.shift_windows), scales - 1),
            "mask_aware_stages": (len(self.mask_aware_stages), scales - 1),
        }
        if self.pyramid_channels is not None:
            expected["pyramid_channels"] = (len(self.pyramid_channels), scales + 1)
        for name, (got, want) in expected.items():
            if got != want:
                raise ValueError(
                    f"{name} must have {want} entries for {scales} structure stages, got {got}"
                )
        if self.texture_block == "window_attention" and self.texture_dim % self.num_heads:
            raise ValueError(
                f"texture_dim ({self.texture_dim}) must be divisible by num_heads ({self.num_heads})"
            )
        if self.deepest_split and (sum(self.deepest_split) != self.texture_dim
                                   or self.structure_channels[-1] != self.texture_dim):
            raise ValueError(
                f"deepest_split {self.deepest_split} must sum to texture_dim ({self.texture_dim}) and to the "
                f"deepest structure width ({self.structure_channels[-1]})"
            )

    @classmethod
    def from_dict(cls, values: dict) -> TSGLConfig:
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ValueError(f"unknown TSGLConfig fields {unknown}; known fields: {sorted(known)}")
        return cls(**values)

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @property
    def num_scales(self) -> int:
        return len(self.structure_channels)

    def with_scales(self, num_scales: int) -> TSGLConfig:
        """The first ``num_scales`` scales of this configuration (for hosts that need a shallower pyramid).

        The cross-layer balance then fuses levels ``1 .. num_scales`` into reduction ``2 ** (num_scales + 1)``.
        """
        if not 1 <= num_scales <= self.num_scales:
            raise ValueError(f"num_scales must be in [1, {self.num_scales}], got {num_scales}")
        stages = num_scales - 1
        return dataclasses.replace(
            self,
            structure_channels=self.structure_channels[:num_scales],
            structure_kernels=self.structure_kernels[:num_scales],
            depths=self.depths[:stages],
            shift_windows=self.shift_windows[:stages],
            mask_aware_stages=self.mask_aware_stages[:stages],
            deepest_split=self.deepest_split if num_scales == self.num_scales else (),
            pyramid_channels=None if self.pyramid_channels is None
            else (*self.pyramid_channels[:num_scales], self.pyramid_channels[-1]),
        )


def select_levels(out_indices: Sequence[int] | None, num_levels: int) -> tuple[int, ...]:
    """``out_indices`` as a tuple of level indices (negative ones count from the deepest); None = all levels."""
    if out_indices is None:
        return tuple(range(num_levels))
    if isinstance(out_indices, int) or not all(isinstance(i, int) for i in out_indices):
        raise TypeError(f"out_indices must be a sequence of ints, got {out_indices!r}")
    selected = tuple(i % num_levels if -num_levels <= i < num_levels else None for i in out_indices)
    if not selected or None in selected or list(selected) != sorted(set(selected)):
        raise ValueError(f"out_indices must be distinct increasing level indices in [-{num_levels}, {num_levels}), "
                         f"got {tuple(out_indices)}")
    return selected


class TSGLFeatures(NamedTuple):
    """What :meth:`TSGLEncoder.forward_features` returns (all lists finest first)."""

    pyramid: list[Tensor]  # f_1 .. f_{K+1}, the public feature pyramid
    texture: list[Tensor]  # F_1 .. F_K, reconstructed texture maps (texture_dim channels)
    structure: list[Tensor]  # S_1 .. S_K, structure-stream maps (for an auxiliary edge head)
    structure_mask: Tensor  # (B, 1, H / 2**K, W / 2**K) partial-conv mask after S_K, 1 = known
    priors: Tensor  # (B, 2, H, W) the edge and gray maps the structure stream read
    texture_stem: Tensor | None = None  # T_0 (B, texture_dim, H, W): the texture stream at full resolution


MODEL_CARD = """---
{{ card_data }}
---

# TSGL encoder

The encoder of TSGL ("Thinking inside the Convolution for Image Inpainting: Reconstructing Texture via
Structure under Global and Local Side", {{ paper_url }}) as a feature-pyramid backbone, saved by the
`tsgl-encoder` library (`config.json`: its `TSGLConfig`; `model.safetensors`: the weights).

```python
from tsgl_encoder import TSGLEncoder

encoder = TSGLEncoder.from_pretrained("path/to/this/folder").eval()
pyramid = encoder(image, mask)  # image (B, 3, H, W) in [-1, 1]; mask (B, 1, H, W), 1 = known
```

Official code of the method: {{ repo_url }}
"""


class TSGLEncoder(
    nn.Module, ConfigHubMixin, library_name="tsgl-encoder", license="apache-2.0", model_card_template=MODEL_CARD,
    repo_url="https://github.com/htyjers/ConvInpaint-TSGL", paper_url="https://arxiv.org/abs/2602.03013",
    tags=["image-inpainting", "feature-pyramid"],
):
    """The TSGL encoder as a feature-pyramid backbone.

    Inputs: ``image (B, 3, H, W)`` in [-1, 1]; ``mask (B, 1, H, W)`` bool or {0, 1} float with
    1 = known; optional ``edge``/``gray`` ``(B, 1, H, W)`` and ``smooth`` ``(B, 3, H, W)`` priors,
    computed from the masked image (see :mod:`tsgl_encoder.priors`) when not given. Every input is
    multiplied by the mask, so pixels inside the hole never influence any output.
    ``H`` and ``W`` must be multiples of :attr:`size_divisor`.

    ``out_indices`` selects the levels :meth:`forward` returns (default: all); :attr:`feature_info` is
    timm's ``FeatureInfo`` (``channels()``, ``reduction()``, ``module_name()`` of the selected levels,
    ``len()`` and ``[i]`` over all), and :attr:`out_channels` / :attr:`reductions` follow the selection.
    Hub conventions (``save_pretrained`` / ``from_pretrained`` / ``push_to_hub``): :mod:`tsgl_encoder.hub`.
    """

    #: The layout the two streams compute in (set it on an instance or on the class). ``channels_last`` makes
    #: the encoder ~1.2x faster on a CPU, its convolutions up to 2x (``benchmarks/README.md``); outputs come back
    #: in the image's own layout. ``torch.contiguous_format`` is the plain NCHW path: the same outputs up to
    #: float rounding (oneDNN's channels-last kernels round ~2e-6 relative per conv, about 6x NCHW's).
    memory_format: torch.memory_format = torch.channels_last
    config_class = TSGLConfig  # what from_pretrained builds the encoder from (hub.ConfigHubMixin)
    #: Checks of the value conventions (image in [-1, 1]; a mask with implausibly few known pixels warns once):
    #: set False on an instance to feed other ranges on purpose. Shapes, dtypes, devices are always checked.
    validate_inputs: bool = True

    def __init__(self, config: TSGLConfig | None = None, out_indices: Sequence[int] | None = None) -> None:
        super().__init__()
        self.config = config = config or TSGLConfig()
        # value checks (binary mask, NaN/inf) read tensor values: free on CPU, a host-device sync on a GPU,
        # so there they run only when this is True
        self.check_values_on_accelerators = False
        num_scales = len(config.structure_channels)
        self.priors = StructurePriors(config.edge_sigma, with_smooth=config.smooth_input, smooth=config.smooth_prior)
        self.structure = StructureStream(
            config.structure_channels, config.structure_kernels, config.structure_layer, config.structure_stem
        )
        self.texture = TextureStream(
            in_channels=(7 if config.smooth_input else 4), dim=config.texture_dim, depths=config.depths,
            num_heads=config.num_heads, window_size=config.window_size, shift_windows=config.shift_windows,
            mask_aware_stages=config.mask_aware_stages, mlp_ratio=config.mlp_ratio, tau=config.tau,
            block=config.texture_block, stem_kernel=config.texture_stem_kernel,
        )
        guide = dict(hidden=config.spade_hidden, identity=config.guidance_identity,
                     residual_resize=config.residual_resize, sides=config.guidance_sides,
                     local_condition=config.local_condition)
        self.guidance = nn.ModuleList(
            SplitGuidanceBlock(config.deepest_split, **guide) if config.deepest_split and k == num_scales - 1
            else GuidanceBlock(config.texture_dim, c, **guide)
            for k, c in enumerate(config.structure_channels)
        )
        if config.pyramid_channels is None:  # the pyramid is the reconstructed maps themselves
            self.projections, self.balance = None, None
            out_channels = (config.texture_dim,) * num_scales
            modules = [f"guidance.{i}" for i in range(num_scales)]
        else:
            self.projections = nn.ModuleList(
                PyramidProjection(config.texture_dim, c) for c in config.pyramid_channels[:num_scales]
            )
            self.balance = CrossLayerBalance(config.pyramid_channels[:num_scales], config.pyramid_channels[-1],
                                             cross_layer=config.cross_layer_balance)
            out_channels = tuple(config.pyramid_channels)
            modules = [f"projections.{i}" for i in range(num_scales)] + ["balance"]

        levels = [{"num_chs": c, "reduction": 2 ** (i + 1), "module": m}
                  for i, (c, m) in enumerate(zip(out_channels, modules, strict=True))]
        self.out_indices: tuple[int, ...] = select_levels(out_indices, len(levels))
        self.feature_info = FeatureInfo(levels, self.out_indices)
        self.out_channels: tuple[int, ...] = tuple(self.feature_info.channels())
        self.reductions: tuple[int, ...] = tuple(self.feature_info.reduction())
        self.size_divisor: int = levels[-1]["reduction"]  # every level is computed, whichever are returned
        self.depth: int = len(self.out_channels)
        self.output_stride: int = self.reductions[-1]
        self.pruned = False  # prune_intermediate_layers removed the modules of the deepest scales

    # ----------------------------------------------------------------- forward
    def forward(
        self, image: Tensor, mask: Tensor, edge: Tensor | None = None, gray: Tensor | None = None,
        smooth: Tensor | None = None,
    ) -> list[Tensor]:
        """The feature pyramid ``[f_1 .. f_{K+1}]`` (the levels of :attr:`out_indices`): :attr:`out_channels` at
        :attr:`reductions`."""
        pyramid = self._encode(image, mask, edge, gray, smooth).pyramid  # validates the inputs first
        layout = caller_memory_format(image)
        return [pyramid[i].contiguous(memory_format=layout) for i in self.out_indices]

    def forward_features(
        self, image: Tensor, mask: Tensor, edge: Tensor | None = None, gray: Tensor | None = None,
        smooth: Tensor | None = None,
    ) -> TSGLFeatures:
        """The pyramid plus the texture and structure maps, for training with structure supervision."""
        features = self._encode(image, mask, edge, gray, smooth)
        layout = caller_memory_format(image)

        def relayout(maps: list[Tensor]) -> list[Tensor]:
            return [t.contiguous(memory_format=layout) for t in maps]

        return features._replace(pyramid=relayout(features.pyramid), texture=relayout(features.texture),
                                 structure=relayout(features.structure),
                                 texture_stem=features.texture_stem.contiguous(memory_format=layout))

    def forward_intermediates(self, x: Tensor, mask: Tensor | None = None, indices: int | Sequence[int] | None = None,
                              norm: bool = False, stop_early: bool = False, output_fmt: str = "NCHW",
                              intermediates_only: bool = False, **priors: Tensor | None):
        """timm's ``forward_intermediates`` over the pyramid levels (:mod:`tsgl_encoder.intermediates`)."""
        return intermediates.forward_intermediates(self, x, mask, indices, norm, stop_early, output_fmt,
                                                   intermediates_only, **priors)

    def prune_intermediate_layers(self, indices: int | Sequence[int] = 1, prune_norm: bool = False,
                                  prune_head: bool = True) -> list[int]:
        """timm's ``prune_intermediate_layers``: keeps only what the levels ``indices`` need
        (:mod:`tsgl_encoder.intermediates`)."""
        return intermediates.prune_intermediate_layers(self, indices, prune_norm, prune_head)

    def _encode(
        self, image: Tensor, mask: Tensor, edge: Tensor | None, gray: Tensor | None, smooth: Tensor | None,
        last_level: int | None = None,
    ) -> TSGLFeatures:
        """:meth:`forward_features` with every map in :attr:`memory_format`; ``last_level`` stops after that
        pyramid level (the levels after it are not computed)."""
        mask = self._check_inputs(image, mask, edge, gray, smooth)
        masked_image = image * mask
        if edge is None or gray is None or (self.config.smooth_input and smooth is None):
            auto_edge, auto_gray, auto_smooth = self.priors(masked_image, mask)
            edge = auto_edge if edge is None else edge
            gray = auto_gray if gray is None else gray
            smooth = auto_smooth if smooth is None else smooth
        priors = torch.cat([edge, gray], dim=1).to(image.dtype) * mask  # (B, 2, H, W)
        if self.config.structure_priors != "edge+gray":  # the prior ablation: zero what the stream may not read
            keep = STRUCTURE_PRIORS[self.config.structure_priors]
            priors = priors * torch.tensor(keep, dtype=priors.dtype, device=priors.device).view(1, 2, 1, 1)

        # convolutions keep their input's layout, so setting it on the two stream inputs sets it for all maps
        structure_in = torch.cat([priors, mask], dim=1).contiguous(memory_format=self.working_format)
        structure, structure_mask = self.structure(structure_in, mask)
        texture_in = [masked_image, smooth.to(image.dtype) * mask] if self.config.smooth_input else [masked_image]
        texture_in = torch.cat([*texture_in, mask], dim=1).contiguous(memory_format=self.working_format)
        finer, x, texture_mask = self.texture.head(texture_in, mask)
        texture_stem = finer

        texture = []
        for k, guide in enumerate(self.guidance):
            if last_level is not None and k > last_level:
                break
            if k > 0:
                x, texture_mask = self.texture.stages[k - 1](finer, texture_mask)  # (B, C, H/2^(k+1), ..)
            finer = guide(x, structure[k], finer)
            texture.append(finer)
        if self.projections is None:
            pyramid = list(texture)
        else:
            pyramid = [project(t) for project, t in zip(self.projections, texture, strict=False)]
            if self.balance is not None and (last_level is None or last_level >= len(self.guidance)):
                # the balance reads every level (pruned away when its level is not asked for)
                pyramid.append(self.balance(pyramid))
        return TSGLFeatures(pyramid, texture, structure, structure_mask, priors, texture_stem)

    @property
    def working_format(self) -> torch.memory_format:
        """The layout of every map inside the encoder: :attr:`memory_format`, but NCHW in an exported graph (a
        graph whose batch is a symbol cannot ask a ``channels_last`` convolution's layout, which depends on
        batch > 1)."""
        return torch.contiguous_format if torch.compiler.is_exporting() else self.memory_format

    # ------------------------------------------------------------ validation
    def _check_inputs(
        self, image: Tensor, mask: Tensor, edge: Tensor | None, gray: Tensor | None, smooth: Tensor | None
    ) -> Tensor:
        """Validates the inputs and returns the mask as a {0, 1} tensor of the image's dtype."""
        priors = {"edge": edge, "gray": gray, "smooth": smooth}
        return check_image_mask_priors(self, image, mask, priors, self.size_divisor, next(self.parameters()),
                                       "the encoder's weights",
                                       isinstance(image, Tensor) and self._check_values(image))

    def _check_values(self, tensor: Tensor) -> bool:
        return value_checks_enabled(tensor, self.check_values_on_accelerators)
