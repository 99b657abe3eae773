"""Evaluation on fixed mask sets: per-bin metrics of the composite, and example images."""

from __future__ import annotations

import torch
from torch import nn

from ..data import InpaintingDataset
from .host import Host


@torch.no_grad()
def evaluate(host: Host, model: nn.Module, dataset: InpaintingDataset, masks: torch.Tensor, batch_size: int = 16,
             metrics=None) -> dict:
    """Runs ``model`` on every validation image with every mask of ``masks (N, 1, H, W)`` (image ``i`` gets
    mask ``i % N``), and returns ``{"psnr": [...], "ssim": [...], "l1": [...], "examples": (inputs..)}``
    with one value per image, computed on the composite in [0, 1]."""
    from ..metrics import MetricSuite

    metrics = metrics or MetricSuite()
    model.eval()
    device = next(model.parameters()).device
    results: dict[str, list[float]] = {}
    examples = None
    for start in range(0, len(dataset), batch_size):
        items = [dataset[i] for i in range(start, min(start + batch_size, len(dataset)))]
        image = torch.stack([item["image"] for item in items]).to(device)
        mask = torch.stack([masks[i % len(masks)] for i in range(start, start + len(items))]).to(device)
        output = host.predict(model, image, mask).output.float().clamp(-1, 1)
        composite = image * mask + output * (1 - mask)
        scores = metrics.per_image((composite + 1) / 2, (image + 1) / 2)
        for name, values in scores.items():
            results.setdefault(name, []).extend(values.tolist())
        if examples is None:
            examples = {"image": image.cpu(), "mask": mask.cpu(), "composite": composite.cpu()}
    results["examples"] = examples
    return results
