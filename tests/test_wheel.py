"""The built wheel, installed into a fresh virtual environment: its metadata, its files and its commands,
run from a folder outside the repository."""

from __future__ import annotations

import email
import os
import subprocess
import sys
import sysconfig
import venv
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
COMMANDS = ("tsgl-benchmark", "tsgl-evaluate", "tsgl-speed")


def run(command: list[str], cwd: Path, **kwargs) -> subprocess.CompletedProcess:
    env = {key: value for key, value in os.environ.items() if key not in ("PYTHONPATH", "VIRTUAL_ENV")}
    result = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, **kwargs)
    assert result.returncode == 0, f"{command} failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    return result


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("dist")
    run([sys.executable, "-m", "pip", "wheel", str(ROOT), "--no-deps", "--no-build-isolation", "--no-index",
         "-w", str(out)], cwd=out)
    (built,) = out.glob("tsgl_encoder-*.whl")
    return built


def test_the_wheel_holds_the_packages_the_license_and_spdx_metadata(wheel):
    names = zipfile.ZipFile(wheel).namelist()
    assert any(name.startswith("tsgl_encoder/bench/") for name in names)
    assert any(name.startswith("adapters/lama/") for name in names)
    assert not any(name.startswith(("tests/", "benchmarks/", "examples/")) for name in names)
    (metadata_name,) = [name for name in names if name.endswith(".dist-info/METADATA")]
    license_file = metadata_name.replace("METADATA", "licenses/LICENSE")
    assert license_file in names and b"Apache License" in zipfile.ZipFile(wheel).read(license_file)
    metadata = email.message_from_bytes(zipfile.ZipFile(wheel).read(metadata_name))
    assert metadata["License-Expression"] == "Apache-2.0"
    assert {"bench", "metrics", "export"} <= set(metadata.get_all("Provides-Extra"))
    entry_points = zipfile.ZipFile(wheel).read(metadata_name.replace("METADATA", "entry_points.txt")).decode()
    assert all(f"{command} = " in entry_points for command in COMMANDS)


def test_the_installed_wheel_runs_its_commands_outside_the_repository(wheel, tmp_path):
    """A fresh venv sees this environment's packages (torch & co., so nothing is downloaded) but not the
    repository; the wheel and its ``bench`` extra install with ``--no-index``."""
    environment = tmp_path / "venv"
    venv.create(environment, with_pip=True)
    bin_dir = environment / ("Scripts" if os.name == "nt" else "bin")
    python = bin_dir / "python"
    site = run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"], tmp_path)
    Path(site.stdout.strip(), "parent_environment.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    # ensurepip's own (older) setuptools would shadow the one torch requires
    subprocess.run([str(python), "-m", "pip", "uninstall", "-y", "-q", "setuptools"], cwd=tmp_path, capture_output=True)
    run([str(python), "-m", "pip", "install", "--no-index", f"{wheel}[bench]"], tmp_path)
    run([str(python), "-m", "pip", "check"], tmp_path)
    where = run([str(python), "-c", "import tsgl_encoder, adapters; print(tsgl_encoder.__file__, adapters.__file__)"],
                tmp_path).stdout
    assert str(environment) in where and str(ROOT) not in where
    for command in COMMANDS:
        assert "usage: " + command in run([str(bin_dir / command), "--help"], tmp_path).stdout
    run([str(bin_dir / "tsgl-benchmark"), "--preset", "smoke", "--out", "smoke", "--no-progress"], tmp_path,
        timeout=600)
    assert (tmp_path / "smoke" / "results.md").read_text().startswith("# Substituting the encoders")
    assert list((tmp_path / "smoke").glob("*.png"))


def test_this_environment_passes_pip_check(tmp_path):
    run([sys.executable, "-m", "pip", "check"], tmp_path)


def test_the_encoder_and_adapters_need_none_of_the_bench_extra(tmp_path):
    """``pip install tsgl-encoder`` without ``[bench]``: scikit-image, matplotlib and scikit-learn made
    unimportable, the encoder and every adapter still import and run; the benchmark names the extra."""
    for name in ("skimage", "matplotlib", "sklearn"):
        (tmp_path / name).mkdir()
        (tmp_path / name / "__init__.py").write_text(f"raise ImportError('{name} is not installed')\n")
    script = (
        "import torch, adapters.lama, adapters.ctsdg, adapters.mat\n"
        "from tsgl_encoder import create_encoder\n"
        "create_encoder('tsgl_tiny').eval()(torch.rand(1, 3, 64, 64) * 2 - 1, torch.ones(1, 1, 64, 64))\n"
        "from tsgl_encoder.bench.data import bundled_photo\n"
        "try:\n    bundled_photo()\nexcept ImportError as error:\n    print(error)\n"
    )
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(tmp_path), str(ROOT)])}
    result = subprocess.run([sys.executable, "-c", script], cwd=tmp_path, env=env, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-3000:]
    assert 'install the benchmark extra: pip install "tsgl-encoder[bench]"' in result.stdout
