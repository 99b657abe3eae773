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

    Returns ``{"metrics": {name: mean}, "per_image": {name: [value per image]}, "examples": {"image", "mask",
    "composite"}}`` (examples: the first batch, [-1, 1]). ``per_image`` pairs runs scored on the same set.
    """
    model.eval()
    suite.reset()
    device = next(model.parameters()).device
    examples = None
    per_image: dict[str, list[float]] = {}
    for start in range(0, len(dataset), batch_size):
        stop = min(start + batch_size, len(dataset))
        image = torch.stack([dataset[i]["image"] for i in range(start, stop)]).to(device)
        mask = torch.stack([masks[i % len(masks)] for i in range(start, stop)]).to(device)
        output = host.predict(model, image, mask).output.float().clamp(-1, 1)
        for name, values in suite.update((output + 1) / 2, (image + 1) / 2, mask).items():
            per_image.setdefault(name, []).extend(values.tolist())
        if examples is None:
            composite = image * mask + output * (1 - mask)
            examples = {"image": image.cpu(), "mask": mask.cpu(), "composite": composite.cpu()}
    return {"metrics": suite.compute(), "per_image": per_image, "examples": examples}
