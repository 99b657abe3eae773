"""Export: ``torch.export`` programs and ONNX files (the dynamo exporter) of the encoder and of the hosts.

    from tsgl_encoder.export import export_onnx, onnxruntime_outputs
    export_onnx(encoder, (image, mask), "tsgl.onnx")          # graph fixed to the example's shapes
    pyramid = onnxruntime_outputs("tsgl.onnx", (image, mask))  # numpy arrays, as encoder(image, mask)

The graphs are specialised to the example inputs' shapes (batch, H, W): export once per size. Input
checks that read tensor values (range, NaN, mask convention) do not run inside a traced graph; the
shape checks run once, at export. One translation is added to the exporter's table: the Canny
gradient magnitude's ``torch.hypot`` (a primitive without an ONNX function in torch 2.14) as
``sqrt(x * x + y * y)``. ONNX needs the ``export`` extra: ``pip install "tsgl-encoder[export]"``.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
from torch import Tensor, nn

EXPORT_EXTRA = 'pip install "tsgl-encoder[export]"'


def _require(module: str):
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError as error:
        raise ImportError(f"ONNX export needs {module} ({error}): {EXPORT_EXTRA}") from None


def onnx_translations() -> dict:
    """Extra ``custom_translation_table`` entries for ``torch.onnx.export(..., dynamo=True)``."""
    op = _require("onnxscript").opset18

    def hypot(x, y):  # |(x, y)| = sqrt(x^2 + y^2)
        return op.Sqrt(op.Add(op.Mul(x, x), op.Mul(y, y)))

    return {torch.ops.prims.hypot.default: hypot}


def export_program(model: nn.Module, example_inputs: Sequence[Tensor]) -> torch.export.ExportedProgram:
    """``torch.export.export`` of ``model`` in eval mode on ``example_inputs`` (positional)."""
    return torch.export.export(model.eval(), tuple(example_inputs))


#: operators that read tensor values on the host (a scalar, a data-dependent shape): on a GPU each one makes the
#: CPU wait for the device
HOST_SYNC_OPERATORS = frozenset({
    "aten::_local_scalar_dense", "aten::item", "aten::nonzero", "aten::nonzero_static", "aten::masked_select",
    "aten::unique", "aten::_unique", "aten::_unique2", "aten::unique_consecutive", "aten::unique_dim",
    "aten::equal", "aten::is_nonzero", "aten::repeat_interleave", "aten::_assert_async",
})


def host_syncs(program: torch.export.ExportedProgram) -> list[str]:
    """The operators of an exported ``program`` that would make the host wait for a GPU (see
    :data:`HOST_SYNC_OPERATORS`), one entry per call; an empty list for a sync-free forward."""
    names = (getattr(getattr(node.target, "_schema", None), "name", None) for node in program.graph.nodes
             if node.op == "call_function")
    return [name for name in names if name in HOST_SYNC_OPERATORS]


def export_onnx(model: nn.Module, example_inputs: Sequence[Tensor], path: str | os.PathLike,
                input_names: Sequence[str] | None = None, optimize: bool = True) -> Path:
    """Writes ``model`` (eval mode) as an ONNX file at ``path`` with the dynamo exporter; returns the path.
    ``optimize=False`` skips onnxscript's graph optimiser (about 3x faster export, a larger graph)."""
    _require("onnxscript")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    program = torch.onnx.export(model.eval(), tuple(example_inputs), dynamo=True, verbose=False, optimize=optimize,
                                input_names=list(input_names) if input_names else None,
                                custom_translation_table=onnx_translations())
    program.save(str(path))
    return path


def onnxruntime_outputs(path: str | os.PathLike, inputs: Sequence[Tensor]) -> list[np.ndarray]:
    """Runs the ONNX file at ``path`` on CPU with onnxruntime; inputs in the order they were exported."""
    ort = _require("onnxruntime")
    options = ort.SessionOptions()
    options.log_severity_level = 3  # errors only (not its constant-folding notes)
    session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    names = [node.name for node in session.get_inputs()]
    if len(names) != len(inputs):
        raise ValueError(f"{str(path)!r} takes {len(names)} inputs {names}, got {len(inputs)}")
    return session.run(None, {name: t.detach().cpu().numpy() for name, t in zip(names, inputs, strict=True)})


def _as_array(values: np.ndarray | Tensor) -> np.ndarray:
    return values.detach().cpu().float().numpy() if isinstance(values, Tensor) else np.asarray(values)


def max_relative_difference(outputs: Sequence[np.ndarray | Tensor], references: Sequence[np.ndarray | Tensor]
                            ) -> float:
    """``max |a - b| / max |b|`` over paired outputs (each pair's own scale), the worst pair; arrays or tensors."""
    if len(outputs) != len(references):
        raise ValueError(f"got {len(outputs)} outputs for {len(references)} references")
    worst = 0.0
    for output, reference in zip(outputs, references, strict=True):
        output, expected = _as_array(output), _as_array(reference)
        if output.shape != expected.shape:
            raise ValueError(f"output shape {output.shape} differs from the reference's {expected.shape}")
        scale = max(float(np.abs(expected).max()), 1e-12)
        worst = max(worst, float(np.abs(output - expected).max()) / scale)
    return worst
