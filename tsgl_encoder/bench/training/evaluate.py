"""Evaluation on fixed mask sets: metrics of the composite, and example images for grids."""

from __future__ import annotations

import torch
from torch import nn

from ..data import InpaintingDataset
from ..metrics import MetricSuite
from .host import Host


@torch.no_grad()
def evaluate(host: Host, model: nn.Module, dataset: InpaintingDataset, masks: torch.Tensor, suite: MetricSuite,
             batch_size: int = 16) -> dict:
    """Inpaints every validation image (image ``i`` with mask ``i % len(masks)``) and scores the composites.

    Returns ``{"metrics": {name: mean}, "examples": {"image", "mask", "composite"}}`` (first batch, [-1, 1]).
    """
    model.eval()
    suite.reset()
    device = next(model.parameters()).device
    examples = None
    for start in range(0, len(dataset), batch_size):
        stop = min(start + batch_size, len(dataset))
        image = torch.stack([dataset[i]["image"] for i in range(start, stop)]).to(device)
        mask = torch.stack([masks[i % len(masks)] for i in range(start, stop)]).to(device)
        output = host.predict(model, image, mask).output.float().clamp(-1, 1)
        suite.update((output + 1) / 2, (image + 1) / 2, mask)
        if examples is None:
            composite = image * mask + output * (1 - mask)
            examples = {"image": image.cpu(), "mask": mask.cpu(), "composite": composite.cpu()}
    return {"metrics": suite.compute(), "examples": examples}
