"""What ``tsgl-speed`` times: each TSGL preset, and per host its own encoder, the TSGL encoder that replaces
it and the whole generator before / after the swap (the host says how: :class:`~..training.Host`)."""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import nn

from ...registry import create_encoder
from ..hosts import Host
from ..training import example_batch

Inputs = Callable[[int, int, torch.device], tuple]  # (batch, size, device) -> positional arguments


@dataclass
class Subject:
    """One thing to time: ``call(module, *inputs(batch, size, device))`` returns tensors to backpropagate."""

    name: str
    group: str  # "encoder" for TSGL presets, else the host
    part: str  # "encoder" | "generator"
    variant: str  # "tsgl" | "own"
    module: nn.Module
    inputs: Inputs
    call: Callable[..., object] = lambda module, *args: module(*args)
    min_batch_train: int = 1  # BatchNorm on 1x1 maps needs two samples in training mode
    parameters: int | None = None  # when ``module`` holds more than what is timed (an encoder inside its host)


def tsgl_inputs(batch: int, size: int, device: torch.device) -> tuple:
    return example_batch(batch, size, device)


def tsgl_subjects(presets: list[str]) -> list[Subject]:
    return [Subject(name, "encoder", "encoder", "tsgl", create_encoder(name), tsgl_inputs) for name in presets]


def host_subjects(host: Host, label: str | None = None) -> list[Subject]:
    """The host's own encoder and TSGL's, and its generator before and after the swap (``label``: the rows'
    name, default the host's)."""
    own = host.build_own()
    swapped = host.swap_encoder(copy.deepcopy(own))
    label = label or host.label
    subjects = []
    for variant, model in (("own", own), ("tsgl", swapped)):
        part = host.encoder_part(model)
        name = part.name.replace(host.label, label, 1)
        subjects.append(Subject(name, host.name, "encoder", variant, part.module, host.example_inputs, part.call,
                                host.min_train_batch, part.parameters))
    subjects += [Subject(label, host.name, "generator", variant, model, host.example_inputs,
                         min_batch_train=host.min_train_batch) for variant, model in (("own", own), ("tsgl", swapped))]
    return subjects
