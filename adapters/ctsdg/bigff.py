"""Bi-directional Gated Feature Fusion (BiGFF): exchange information between texture and structure features."""

from __future__ import annotations

import torch
from torch import nn


class BiGFF(nn.Module):
    """Gated, zero-initialised (``*_gamma``) residual exchange; returns ``cat(texture', structure')``."""

    def __init__(self, in_channels: int, out_channels: int) -> None:
        super().__init__()
        self.structure_gate = nn.Sequential(nn.Conv2d(2 * in_channels, out_channels, 3, padding=1), nn.Sigmoid())
        self.texture_gate = nn.Sequential(nn.Conv2d(2 * in_channels, out_channels, 3, padding=1), nn.Sigmoid())
        self.structure_gamma = nn.Parameter(torch.zeros(1))
        self.texture_gamma = nn.Parameter(torch.zeros(1))

    def forward(self, texture_feature: torch.Tensor, structure_feature: torch.Tensor) -> torch.Tensor:
        energy = torch.cat((texture_feature, structure_feature), dim=1)
        structure_to_texture = self.structure_gate(energy)
        texture_to_structure = self.texture_gate(energy)
        texture = texture_feature + self.texture_gamma * (structure_to_texture * structure_feature)
        # As in the paper's reference: the structure update sees the already-updated texture features.
        structure = structure_feature + self.structure_gamma * (texture_to_structure * texture)
        return torch.cat((texture, structure), dim=1)
