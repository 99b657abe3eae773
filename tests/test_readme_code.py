"""Every ```python block of README.md runs as written, so the documentation cannot drift (issue 15).

A block that needs what only a user has (published checkpoints, a data set, GPU-days) is marked
``<!-- illustration: why -->`` on the line above it: its imports run and every attribute it reads of an
imported module must exist, and it stays short. Files a runnable block names are written by the test
first (``FILES``), in an empty working directory.
"""

from __future__ import annotations

import ast
import re
import warnings
from collections.abc import Callable
from pathlib import Path

import pytest
import torch

README = Path(__file__).resolve().parents[1] / "README.md"
FENCE = re.compile(r"^(?P<marker><!-- illustration:[^\n]*-->\n)?```python\n(?P<code>.*?)^```", re.S | re.M)
ILLUSTRATION_MAX_LINES = 12


def blocks() -> list[tuple[int, str, bool]]:
    """``(line, code, is_illustration)`` of every python block in the README."""
    text = README.read_text()
    return [(text[: m.start("code")].count("\n") + 1, m["code"], bool(m["marker"])) for m in FENCE.finditer(text)]


def _official_generator(path: Path) -> None:
    from tsgl_encoder import create_encoder
    from tsgl_encoder.convert import to_official

    torch.save({f"module.{k}": v for k, v in to_official(create_encoder("tsgl_base")).items()}, path)


FILES: dict[str, Callable[[Path], None]] = {"G_14.pth": _official_generator}  # a TSGL_MEDFE-style checkpoint


def block_id(block: tuple[int, str, bool]) -> str:
    return f"README.md:{block[0]}"


RUNNABLE = [b for b in blocks() if not b[2]]
ILLUSTRATIONS = [b for b in blocks() if b[2]]


def test_the_readme_has_code_to_check():
    assert len(RUNNABLE) >= 5 and len(RUNNABLE) > len(ILLUSTRATIONS)


@pytest.mark.parametrize("block", RUNNABLE, ids=block_id)
def test_a_readme_block_runs_as_written(block, tmp_path, monkeypatch):
    line, code, _ = block
    monkeypatch.chdir(tmp_path)
    for name, write in FILES.items():
        if name in code:
            write(tmp_path / name)
    torch.manual_seed(0)
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)  # the snippets follow the library's conventions
        exec(compile(code, f"README.md:{line}", "exec"), {"__name__": "readme_block"})


@pytest.mark.parametrize("block", ILLUSTRATIONS, ids=block_id)
def test_an_illustration_block_imports_and_names_what_exists(block):
    line, code, _ = block
    tree = ast.parse(code, f"README.md:{line}")
    assert len(code.strip().splitlines()) <= ILLUSTRATION_MAX_LINES, "illustrations stay minimal"
    imports = [node for node in tree.body if isinstance(node, ast.Import | ast.ImportFrom)]
    namespace: dict = {}
    exec(compile(ast.Module(imports, type_ignores=[]), f"README.md:{line}", "exec"), namespace)
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id in namespace:
            owner = namespace[node.value.id]
            if isinstance(owner, type(ast)):  # an imported module: the attribute must exist
                assert hasattr(owner, node.attr), f"README.md:{line}: {node.value.id}.{node.attr} does not exist"
