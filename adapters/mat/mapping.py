"""The mapping network ``z -> w`` (StyleGAN2's, as MAT uses it for its style manipulation module).

``z`` (and an embedded label ``c``, if any) is normalised to unit RMS, then passed through ``num_layers``
equalized fully connected layers with leaky ReLU and a learning-rate multiplier of 0.01. ``w`` is broadcast to
``num_ws`` copies; in training mode the running mean ``w_avg`` is tracked for the truncation trick
``w' = w_avg + psi (w - w_avg)``.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from .layers import FullyConnectedLayer
from .ops import normalize_2nd_moment


class MappingNet(nn.Module):
    """``fc0 .. fc{num_layers-1}`` (+ ``embed`` when ``c_dim > 0``) and the ``w_avg`` buffer."""

    def __init__(
        self, z_dim: int, c_dim: int, w_dim: int, num_ws: int | None, num_layers: int = 8,
        embed_features: int | None = None, layer_features: int | None = None, activation: str = "lrelu",
        lr_multiplier: float = 0.01, w_avg_beta: float | None = 0.995,
    ) -> None:
        super().__init__()
        if z_dim == 0 and c_dim == 0:
            raise ValueError("z_dim and c_dim cannot both be 0: the mapping network would have no input")
        self.z_dim, self.c_dim, self.w_dim = z_dim, c_dim, w_dim
        self.num_ws, self.num_layers, self.w_avg_beta = num_ws, num_layers, w_avg_beta
        embed_features = (w_dim if embed_features is None else embed_features) if c_dim > 0 else 0
        layer_features = w_dim if layer_features is None else layer_features
        features = [z_dim + embed_features] + [layer_features] * (num_layers - 1) + [w_dim]
        if c_dim > 0:
            self.embed = FullyConnectedLayer(c_dim, embed_features)
        for idx in range(num_layers):
            layer = FullyConnectedLayer(features[idx], features[idx + 1], activation, lr_multiplier)
            self.add_module(f"fc{idx}", layer)
        self.track_w_avg = num_ws is not None and w_avg_beta is not None
        if self.track_w_avg:
            self.register_buffer("w_avg", torch.zeros(w_dim))

    def forward(
        self, z: Tensor | None, c: Tensor | None, truncation_psi: float = 1, truncation_cutoff: int | None = None,
        skip_w_avg_update: bool = False,
    ) -> Tensor:
        """Returns ``w`` ``(B, num_ws, w_dim)`` (``(B, w_dim)`` when ``num_ws`` is None)."""
        parts = []
        if self.z_dim > 0:
            parts.append(normalize_2nd_moment(z.to(torch.float32)))
        if self.c_dim > 0:
            parts.append(normalize_2nd_moment(self.embed(c.to(self.embed.weight.dtype)).float()))
        # normalised in float32 as upstream, then computed in the weights' dtype (bfloat16 weights run too)
        x = torch.cat(parts, dim=1).to(self.fc0.weight.dtype)  # (B, z_dim + embed_features)
        for idx in range(self.num_layers):
            x = getattr(self, f"fc{idx}")(x)  # (B, w_dim)

        if self.track_w_avg and self.training and not skip_w_avg_update:
            self.w_avg.copy_(x.detach().mean(dim=0).lerp(self.w_avg, self.w_avg_beta))
        if self.num_ws is not None:
            x = x[:, None].repeat(1, self.num_ws, 1)  # (B, num_ws, w_dim)
        if truncation_psi != 1:
            if not self.track_w_avg:
                raise ValueError("truncation_psi != 1 needs w_avg, which this mapping network does not track")
            if self.num_ws is None or truncation_cutoff is None:
                x = self.w_avg.lerp(x, truncation_psi)
            else:
                x[:, :truncation_cutoff] = self.w_avg.lerp(x[:, :truncation_cutoff], truncation_psi)
        return x
