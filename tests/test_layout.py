"""The package layout: no import circles, the paper's modules apart from the benchmark harness, no old paths."""

from __future__ import annotations

import ast
import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("tsgl_encoder", "adapters")


def module_files() -> dict[str, Path]:
    """``{dotted module name: file}`` for every module of the two packages (a package is its ``__init__``)."""
    modules = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            parts = list(path.relative_to(ROOT).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            modules[".".join(parts)] = path
    return modules


def imported_modules(name: str, path: Path, known: set[str]) -> set[str]:
    """The package's own modules that ``name`` imports anywhere in its file (lazy and TYPE_CHECKING imports too)."""
    is_package = path.name == "__init__.py"
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = name.split(".")
                base = base[: len(base) - node.level + (1 if is_package else 0)]
                source = ".".join(base + ([node.module] if node.module else []))
            else:
                source = node.module or ""
            for alias in node.names:
                submodule = f"{source}.{alias.name}"
                found.add(submodule if submodule in known else source)
    return {module for module in found if module in known and module != name}


def import_graph() -> dict[str, set[str]]:
    files = module_files()
    return {name: imported_modules(name, path, set(files)) for name, path in files.items()}


def import_cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in sorted(graph[node]):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return cycles


def test_the_cycle_finder_finds_a_circle():
    assert import_cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert import_cycles({"a": {"b"}, "b": set()}) == []


def test_no_import_circles_in_the_packages():
    graph = import_graph()
    assert "tsgl_encoder.hub" in graph["tsgl_encoder.encoder"]  # the walk sees real edges
    assert import_cycles(graph) == []


def test_the_papers_modules_never_import_the_harness():
    graph = import_graph()
    core = [name for name in graph if name.startswith("tsgl_encoder") and not name.startswith("tsgl_encoder.bench")]
    leaks = {name: sorted(t for t in graph[name] if t.startswith("tsgl_encoder.bench")) for name in core}
    assert {name: targets for name, targets in leaks.items() if targets} == {}


def test_save_load_depends_on_nothing_of_the_encoder():
    # hub reads files with the safe checkpoint reader and writes through the output rules; both know no model
    graph = import_graph()
    assert {t for t in graph["tsgl_encoder.hub"] if t.startswith("tsgl_encoder")} == {
        "tsgl_encoder.checkpoints", "tsgl_encoder.outputs"}
    for module in ("tsgl_encoder.checkpoints", "tsgl_encoder.outputs"):
        assert not {t for t in graph[module] if t.startswith("tsgl_encoder")}, module


@pytest.mark.parametrize(
    "old", ["metrics", "masks", "data", "losses", "resnet_pl", "viz", "training"], ids=lambda name: name
)
def test_old_harness_paths_are_gone(old):
    assert importlib.util.find_spec(f"tsgl_encoder.{old}") is None
    assert importlib.util.find_spec(f"tsgl_encoder.bench.{old}") is not None


def test_metric_files_are_short():
    lengths = {p.name: len(p.read_text().splitlines()) for p in (ROOT / "tsgl_encoder/bench/metrics").glob("*.py")}
    assert set(lengths) >= {"pixel.py", "fid.py", "lpips.py", "suite.py"}
    assert max(lengths.values()) < 300, lengths


# ------------------------------------------------------------------ one-way layers: core -> adapters -> harness


def test_no_adapter_module_imports_the_harness():
    graph = import_graph()
    leaks = {name: sorted(t for t in targets if t.startswith("tsgl_encoder.bench"))
             for name, targets in graph.items() if name.startswith("adapters")}
    assert {name: targets for name, targets in leaks.items() if targets} == {}


@pytest.mark.parametrize("package", [
    "adapters.lama", "adapters.ctsdg", "adapters.mat", "adapters.medfe", "adapters.smp"])
def test_importing_an_adapter_loads_nothing_of_the_harness(package):
    code = (f"import sys, {package}; "
            "print(sorted(m for m in sys.modules if m.startswith('tsgl_encoder.bench')))")
    found = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True)
    assert found.stdout.strip() == "[]", found.stdout


def test_every_host_is_one_registry_entry_read_by_every_program():
    from tsgl_encoder.bench.hosts import HOSTS
    from tsgl_encoder.bench.training import Host

    assert set(HOSTS) == {"lama", "ctsdg", "mat", "medfe", "smp_unet"}
    assert all(issubclass(cls, Host) for cls in HOSTS.values())
    programs = {"tsgl_encoder/bench/speed/program.py", "tsgl_encoder/bench/evaluate.py",
                "tsgl_encoder/bench/inpaint.py"}
    for program in programs:  # the CLIs name no host: they read the registry
        text = (ROOT / program).read_text()
        assert ("HOSTS" in text or "checkpoint_hosts" in text) and "adapters" not in text, program
    graph = import_graph()
    harness = [name for name in graph if name.startswith("tsgl_encoder.bench") and ".hosts" not in name]
    direct = {name: sorted(t for t in graph[name] if t.startswith("adapters")) for name in harness}
    # only the hosts (and LaMa's PatchGAN for the harness's default adversary) reach into the adapters
    assert {name: targets for name, targets in direct.items() if targets} == {
        "tsgl_encoder.bench.training.adversary": ["adapters.lama.discriminator"]}


def test_files_hold_one_concept_each():
    lengths = {str(p.relative_to(ROOT)): len(p.read_text().splitlines())
               for package in PACKAGES for p in (ROOT / package).rglob("*.py")}
    assert {path: n for path, n in lengths.items() if n > 400} == {}
