"""The benchmark's optional dependencies (the ``bench`` extra), imported when first needed.

``pip install tsgl-encoder`` stays lean (the encoder and the adapters need none of these); the
benchmark, the evaluation and the speed programs ask for ``pip install "tsgl-encoder[bench]"``.
"""

from __future__ import annotations

import importlib
from types import ModuleType

BENCH_EXTRA = 'pip install "tsgl-encoder[bench]"'


def require(module: str, purpose: str) -> ModuleType:
    """Imports ``module`` or raises an ImportError that names ``purpose`` and the extra that installs it."""
    try:
        return importlib.import_module(module)
    except ImportError as error:
        raise ImportError(f"{purpose} needs {module.split('.')[0]} ({error}); install the benchmark extra: "
                          f"{BENCH_EXTRA}") from None


def pyplot() -> ModuleType:
    """``matplotlib.pyplot`` on the file-only Agg backend (figures are written, never shown)."""
    matplotlib = require("matplotlib", "writing figures")
    matplotlib.use("Agg")
    return require("matplotlib.pyplot", "writing figures")
