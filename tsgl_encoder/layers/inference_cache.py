"""Weights derived from parameters, kept between inference calls.

Several layers compute the weight they convolve with from their parameters on every call: the
equalized learning rate's ``w / sqrt(fan_in)``, spectral norm's ``W / sigma(W)`` (TSGL's SN
convolutions, Eq. of the global / local reconstruction), the concatenation of convolutions that read
the same input; and a convolution given a ``channels_last`` input copies a contiguous weight into
that layout on every call. In training all of that must run each time (autograd needs it, spectral
norm's power iteration advances). In inference (eval mode, gradients off) it is a pure function of
the parameters and buffers, so :func:`derived` computes it once and reuses it: ~8 ms of a
``tsgl_base`` forward at 256x256 in bfloat16 on 2 CPU cores (~6 ms in float32), bit-identical outputs.

The cache is keyed on every source tensor's identity, storage, dtype, shape and version counter, so
an optimizer step, ``load_state_dict``, ``.to(...)`` or ``param.data = ...`` recomputes it; it is not
used while tracing, compiling or exporting (nor under any ``TorchDispatchMode``, e.g. ``FakeTensorMode``
or ``FlopCounterMode``), where the derived weight must stay part of the graph.

Why a cache and not an explicit step (timm's ``reparameterize_model`` / ``fuse()`` idiom, an
``encoder.prepare_for_inference()``), issue 26 item 4. An explicit step that folds the weights once
has to put the folded tensors somewhere:

* in place of the parameters (what timm's re-parameterisations do: the fused module replaces the
  branches): spectral norm would have to be removed (``parametrize.remove_parametrizations``), which
  renames ``parametrizations.weight.original`` to ``weight`` and drops ``_u`` / ``_v``; the equalized
  layers would store ``w / sqrt(fan_in) * gain``. The state dict then no longer matches the
  checkpoints, the Hub weights or the official conversion, and the model can neither load a
  checkpoint nor be trained again without an inverse step.
* beside the parameters (state-dict keys kept): then every later ``load_state_dict`` (swapping
  checkpoints for evaluation), ``.to(torch.bfloat16)``, ``param.data = ...`` or optimizer step leaves
  the folds stale and the outputs silently wrong, and a fold made in float32 then cast is not
  bit-identical to folding in bfloat16 (``bf16(w * g) != bf16(w) * g`` in general). Refusing or
  redoing the fold needs exactly the fingerprint kept here; the step adds a call to forget on top.

Two further reasons: the channels_last copy of a weight depends on the layout of the input a call
gets (``TSGLEncoder.memory_format`` can change per instance), which a step taken before the first
call does not know; and the encoder mostly runs inside a host's generator (LaMa, CTSDG, MAT), whose
users call ``model.eval()`` and ``torch.no_grad()`` and nothing encoder-specific, so a step would
have to be taken by every host adapter, benchmark and evaluation path, and forgetting it costs speed
without any error. What the cache costs: the look-ups (173 per ``tsgl_base`` forward) take ~3 ms of a
~490 ms bfloat16 forward at 256 on this project's loaded 2-core CPU (0.6%, within the noise of a
side-by-side timing), which is the whole of what an explicit step could save over it; the folded
tensors themselves are the same, so the speed is otherwise equal.

The dispatch-mode check reads ``torch.utils._python_dispatch.is_in_torch_dispatch_mode()``, the flag
``TorchDispatchMode.__enter__`` sets (the module is where PyTorch's documented ``TorchDispatchMode``
lives; no module without an underscore exposes the mode stack). Without the check, a derived weight
computed under ``FakeTensorMode`` would be a fake tensor kept for real calls, and one computed under a
mode that changes values would outlive the mode.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TypeVar

import torch
from torch import Tensor, nn
from torch.utils._python_dispatch import is_in_torch_dispatch_mode

Derived = TypeVar("Derived", Tensor, tuple[Tensor, ...])
CACHE_ATTRIBUTE = "_derived_weights"


def caller_memory_format(x: Tensor) -> torch.memory_format:
    """``channels_last`` for a tensor strictly in that layout, else ``contiguous_format``."""
    strictly_channels_last = x.is_contiguous(memory_format=torch.channels_last) and not x.is_contiguous()
    return torch.channels_last if strictly_channels_last else torch.contiguous_format


def conv_memory_format(x: Tensor) -> torch.memory_format:
    """The layout ``F.conv2d`` gives its output for the input ``x`` and a contiguous weight: PyTorch's
    ``suggest_memory_format`` rule (c10's ``is_channels_last_strides_2d_s4``, written here because the Python
    one is private). Unlike ``x.is_contiguous(memory_format=channels_last)`` it reads the batch stride, so a
    batch-1 map whose strides are ambiguous gets the layout the reference code's convolution gives it (MAT's
    first stage feeds such maps; a different output layout reorders the dropout maps drawn from them)."""
    if x.ndim != 4 or x.stride(1) == 0:
        return torch.contiguous_format
    low = 0
    for dim in (1, 3, 2, 0):
        size, stride = x.shape[dim], x.stride(dim)
        if size == 0 or stride < low or (dim == 0 and low == x.stride(1)):
            return torch.contiguous_format
        low = stride * size if size > 1 else stride
    return torch.channels_last


def tensors_of(*modules: nn.Module) -> tuple[Tensor, ...]:
    """Every parameter and buffer of ``modules`` (a parametrized weight's original and spectral norm's u, v too)."""
    return tuple(t for m in modules for t in (*m.parameters(), *m.buffers()))


def _caching_allowed(module: nn.Module) -> bool:
    return not (module.training or torch.is_grad_enabled() or torch.compiler.is_compiling()
                or torch.compiler.is_exporting() or torch.jit.is_tracing() or is_in_torch_dispatch_mode())


def _fingerprint(sources: Iterable[Tensor]) -> tuple:
    return tuple((t.data_ptr(), t._version, t.dtype, t.device, t.shape, t.stride()) for t in sources)


def _in_layout(value: Derived, layout: torch.memory_format | None) -> Derived:
    if layout is None:
        return value
    if isinstance(value, tuple):
        return tuple(_in_layout(v, layout) for v in value)
    return value.contiguous(memory_format=layout) if value.ndim == 4 else value


def derived(module: nn.Module, name: str, sources: tuple[Tensor, ...], compute: Callable[[], Derived],
            like: Tensor | None = None) -> Derived:
    """``compute()`` (4-d results in the layout a convolution of ``like`` gives, :func:`conv_memory_format`),
    cached on ``module`` under ``name`` in inference.

    ``sources`` are all the tensors ``compute`` reads; the cached value is reused while none of them changed.
    """
    # exporting: a graph with a symbolic batch cannot ask the layout (it depends on batch > 1), and a weight's
    # layout changes no value
    layout = conv_memory_format(like) if like is not None and not torch.compiler.is_exporting() else None
    if not _caching_allowed(module):
        return _in_layout(compute(), layout)
    cache: dict = module.__dict__.setdefault(CACHE_ATTRIBUTE, {})
    key = (name, layout)
    fingerprint = _fingerprint(sources)
    entry = cache.get(key)
    if entry is None or entry[2] != fingerprint or any(a is not b for a, b in zip(entry[0], sources, strict=True)):
        # the entry keeps its sources' storages alive (the detached views): no other tensor can take their addresses
        entry = (tuple(sources), tuple(t.detach() for t in sources), fingerprint, _in_layout(compute(), layout))
        cache[key] = entry
    return entry[3]


class Conv2d(nn.Conv2d):
    """``nn.Conv2d`` whose weight is :func:`derived` (so a spectral-normed one is computed once for inference)
    and in its input's layout; the same parameters, state-dict keys and outputs as ``nn.Conv2d``."""

    def forward(self, x: Tensor) -> Tensor:
        weight = derived(self, "weight", tensors_of(self), lambda: self.weight, like=x)
        return self._conv_forward(x, weight, self.bias)


__all__ = ["Conv2d", "caller_memory_format", "derived", "tensors_of"]
