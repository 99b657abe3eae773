"""Export: ``torch.export`` programs and ONNX files (the dynamo exporter) of the encoder and of the hosts.

    from tsgl_encoder.export import export_onnx, onnxruntime_outputs
    export_onnx(encoder, (image, mask), "tsgl.onnx", dynamic=True)  # any batch, H and W multiples of 64
    pyramid = onnxruntime_outputs("tsgl.onnx", (image, mask))        # numpy arrays, as encoder(image, mask)

By default a graph is specialised to the example inputs' shapes (batch, H, W). ``dynamic=True`` exports
one graph for every batch size and every height and width that are multiples of ``size_multiple`` (64:
the encoder's deepest level is 1/64), at least two of them (128 px; a one-row map at the deepest level
would make the graph decide 0/1 cases that fix the size), up to 64 of them (4096 px). The ONNX file
records that rule in its metadata and :func:`onnxruntime_outputs` refuses other sizes with an error
naming the input. Input checks that read tensor values (range, NaN, mask convention) do not run inside
a traced graph; the shape checks run once, at export. One translation is added to the exporter's
table: the Canny gradient magnitude's ``torch.hypot`` (a primitive without an ONNX function in torch
2.14) as ``sqrt(x * x + y * y)``. ONNX needs the ``export`` extra: ``pip install "tsgl-encoder[export]"``.
"""

from __future__ import annotations

import contextlib
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


#: ONNX metadata keys of a dynamic-size file: the size multiple and the smallest height / width
SIZE_MULTIPLE_KEY, MIN_SIZE_KEY = "tsgl_encoder.size_multiple", "tsgl_encoder.min_size"
MIN_CELLS, MAX_CELLS = 2, 64  # a dynamic height / width spans this many multiples


class AnySize(nn.Module):
    """``model`` with each image-sized input (4-d, the first input's height and width) reshaped to
    ``(..., m * (H // m), m * (W // m))`` for ``m = size_multiple``: the same tensor, whose sizes the exporter
    then knows as multiples of ``m`` (so a size after ``k`` halvings stays one clean expression)."""

    def __init__(self, model: nn.Module, size_multiple: int) -> None:
        super().__init__()
        self.model, self.size_multiple = model, size_multiple

    def forward(self, *inputs: Tensor):
        size = inputs[0].shape[-2:]
        return self.model(*(self._snapped(x) if _image_sized(x, size) else x for x in inputs))

    def _snapped(self, x: Tensor) -> Tensor:
        m = self.size_multiple
        height, width = x.shape[-2:]
        torch._check(height % m == 0)
        torch._check(width % m == 0)
        return x.reshape(*x.shape[:-2], (height // m) * m, (width // m) * m)


def _image_sized(x: object, size: torch.Size) -> bool:
    return isinstance(x, Tensor) and x.ndim == 4 and x.shape[-2:] == size


def dynamic_shapes(example_inputs: Sequence[Tensor], size_multiple: int, dynamic_batch: bool = True) -> tuple:
    """``torch.export`` dims for :class:`AnySize`: a free batch on every tensor input (unless ``dynamic_batch`` is
    False), and height and width ``size_multiple * n`` (``n`` in [2, 64]) on the image-sized ones; checks the
    example's sizes."""
    if not isinstance(size_multiple, int) or isinstance(size_multiple, bool) or size_multiple < 1:
        raise ValueError(f"size_multiple must be a positive int, got {size_multiple!r}")
    first = example_inputs[0]
    if not isinstance(first, Tensor) or first.ndim != 4:
        got = tuple(first.shape) if isinstance(first, Tensor) else type(first).__name__
        raise ValueError(f"dynamic export needs an image (B, C, H, W) as the first input, got {got}")
    for name, size in zip(("height", "width"), first.shape[-2:], strict=True):
        if size % size_multiple or not MIN_CELLS <= size // size_multiple <= MAX_CELLS:
            raise ValueError(f"the example's {name} must be a multiple of size_multiple={size_multiple} in "
                             f"[{MIN_CELLS * size_multiple}, {MAX_CELLS * size_multiple}], got {size}")
    batch = torch.export.Dim("batch", min=1, max=1024)
    height = torch.export.Dim("height", min=MIN_CELLS, max=MAX_CELLS)
    width = torch.export.Dim("width", min=MIN_CELLS, max=MAX_CELLS)

    def dims(x: object) -> dict | None:
        batch_dim = {0: batch} if dynamic_batch and isinstance(x, Tensor) and x.ndim >= 1 else {}
        if _image_sized(x, first.shape[-2:]):
            return {**batch_dim, 2: size_multiple * height, 3: size_multiple * width}
        return batch_dim or None

    return (tuple(dims(x) for x in example_inputs),)


def export_program(model: nn.Module, example_inputs: Sequence[Tensor], dynamic: bool = False,
                   size_multiple: int = 64, dynamic_batch: bool = True) -> torch.export.ExportedProgram:
    """``torch.export.export`` of ``model`` in eval mode on ``example_inputs`` (positional); ``dynamic=True``:
    any batch (the example's with ``dynamic_batch=False``) and any height / width that are multiples of
    ``size_multiple`` (see the module docstring)."""
    model, example_inputs = model.eval(), tuple(example_inputs)
    if not dynamic:
        return torch.export.export(model, example_inputs)
    shapes = dynamic_shapes(example_inputs, size_multiple, dynamic_batch)
    with _size_oblivious(True):
        return torch.export.export(AnySize(model, size_multiple).eval(), example_inputs, dynamic_shapes=shapes)


def _size_oblivious(enabled: bool):
    """torch's ``backed_size_oblivious`` while tracing with symbolic sizes: size tests that only matter for sizes 0
    and 1 (view or copy, broadcasting) are decided for the general case instead of fixing the example's size; the
    dims start at 2 multiples, so that holds. Without it the export of tsgl_tiny takes minutes of symbolic algebra
    instead of ~15 s."""
    from torch.fx.experimental import _config as symbolic_config

    return symbolic_config.patch(backed_size_oblivious=True) if enabled else contextlib.nullcontext()


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
                input_names: Sequence[str] | None = None, optimize: bool = True, dynamic: bool = False,
                size_multiple: int = 64, dynamic_batch: bool = True, metadata: dict[str, str] | None = None) -> Path:
    """Writes ``model`` (eval mode) as an ONNX file at ``path`` with the dynamo exporter; returns the path.
    ``optimize=False`` skips onnxscript's graph optimiser (about 3x faster export, a larger graph);
    ``dynamic``, ``size_multiple`` and ``dynamic_batch`` as :func:`export_program`; ``metadata``: entries for the
    file's ``metadata_props``."""
    _require("onnxscript")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    program = export_program(model, example_inputs, True, size_multiple, dynamic_batch) if dynamic else model.eval()
    with _size_oblivious(dynamic):  # the exporter traces the program again (its decompositions)
        onnx_program = torch.onnx.export(program, tuple(example_inputs), dynamo=True, verbose=False,
                                         optimize=optimize, input_names=list(input_names) if input_names else None,
                                         custom_translation_table=onnx_translations())
    onnx_program.model.metadata_props.update(metadata or {})
    if dynamic:
        onnx_program.model.metadata_props[SIZE_MULTIPLE_KEY] = str(size_multiple)
        onnx_program.model.metadata_props[MIN_SIZE_KEY] = str(MIN_CELLS * size_multiple)
        _forget_inner_shapes(onnx_program.model.graph)
    onnx_program.save(str(path))
    return path


def _forget_inner_shapes(graph) -> None:
    """Drops the symbolic shapes the exporter wrote on a graph's inner values (onnxruntime infers its own). With
    them, onnxruntime 1.2x plans the buffer of an inverse one-sided ``DFT`` (LaMa's ``irfftn``) at the two-sided
    size and fails at run time ("Shape mismatch attempting to re-use buffer")."""
    for node in graph.all_nodes():
        for value in node.outputs:
            if not value.is_graph_output():
                value.shape = None


def onnxruntime_outputs(path: str | os.PathLike, inputs: Sequence[Tensor]) -> list[np.ndarray]:
    """Runs the ONNX file at ``path`` on CPU with onnxruntime; inputs in the order they were exported."""
    ort = _require("onnxruntime")
    options = ort.SessionOptions()
    options.log_severity_level = 3  # errors only (not its constant-folding notes)
    session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    arrays = [t.detach().cpu().numpy() if isinstance(t, Tensor) else np.asarray(t) for t in inputs]
    check_onnx_inputs(session, arrays, path)
    return session.run(None, {node.name: a for node, a in zip(session.get_inputs(), arrays, strict=True)})


def check_onnx_inputs(session, arrays: Sequence[np.ndarray], path: str | os.PathLike) -> None:
    """Raises ``ValueError`` naming the input when ``arrays`` do not fit an onnxruntime ``session`` of the file
    at ``path``: their count, each fixed dimension, and a dynamic file's size rule (its metadata)."""
    nodes = session.get_inputs()
    names = [node.name for node in nodes]
    if len(names) != len(arrays):
        raise ValueError(f"{str(path)!r} takes {len(names)} inputs {names}, got {len(arrays)}")
    metadata = session.get_modelmeta().custom_metadata_map
    multiple, smallest = int(metadata.get(SIZE_MULTIPLE_KEY, 1)), int(metadata.get(MIN_SIZE_KEY, 1))
    for node, array in zip(nodes, arrays, strict=True):
        fixed = [d if isinstance(d, int) else None for d in node.shape]
        if len(fixed) != array.ndim or any(d is not None and d != n for d, n in zip(fixed, array.shape, strict=True)):
            shown = tuple(d if d is not None else "*" for d in fixed)
            raise ValueError(f"input {node.name!r} of {str(path)!r} must have shape {shown} (* any), "
                             f"got {tuple(array.shape)}")
        if array.ndim == 4 and None in fixed[2:] and any(n % multiple or n < smallest for n in array.shape[2:]):
            raise ValueError(f"input {node.name!r} of {str(path)!r}: height and width must be multiples of "
                             f"{multiple} and at least {smallest}, got {tuple(array.shape[2:])}")


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
