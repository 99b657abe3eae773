"""Nothing a user gives the library is written over (issue 29, item 1): tsgl_encoder.outputs and every writer."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from tsgl_encoder import create_encoder
from tsgl_encoder.bench import benchmark as benchmark_program
from tsgl_encoder.bench import speed as speed_program
from tsgl_encoder.bench.evaluate import main as evaluate
from tsgl_encoder.outputs import LEDGER, LOCK, OutputError, OutputFolder, check_location


@pytest.fixture
def photos(tmp_path):
    folder = tmp_path / "photos"
    folder.mkdir()
    for index in range(2):
        Image.fromarray(np.full((40, 48, 3), 60 * index, np.uint8)).save(folder / f"p{index}.png")
    return folder


def snapshot(folder):
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_an_output_location_among_the_inputs_is_refused(tmp_path):
    data = tmp_path / "data"
    (data / "sub").mkdir(parents=True)
    for out, words in ((data, "is or lies inside --data"), (data / "sub" / "out", "is or lies inside --data"),
                       (tmp_path, "contains --data")):
        with pytest.raises(OutputError, match=words):
            check_location(out, [("--data", data)])
    (tmp_path / "file.txt").write_text("x")
    with pytest.raises(OutputError, match="exists and is not a folder"):
        check_location(tmp_path / "file.txt", [("--data", data)])
    check_location(tmp_path / "elsewhere", [("--data", data), ("--masks", None)])


def test_files_the_library_did_not_write_are_never_replaced(tmp_path):
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "results.md").write_text("my notes")
    with OutputFolder(tmp_path / "out", "test") as outputs:
        outputs.reserve([tmp_path / "out" / "results.json"])  # new: claimed
        with pytest.raises(OutputError, match=r"1 file\(s\) .* were not written by this library: .*results.md"):
            outputs.reserve([tmp_path / "out" / "results.md"])
    (tmp_path / "out" / "results.json").write_text("{}")
    with OutputFolder(tmp_path / "out", "test") as outputs:  # a later run may replace what an earlier one wrote
        outputs.reserve([tmp_path / "out" / "results.json"])
    assert (tmp_path / "out" / LEDGER).read_text().splitlines() == ["results.json"]
    assert not (tmp_path / "out" / LOCK).exists()


def test_a_second_writer_is_refused_and_a_dead_ones_lock_is_taken_over(tmp_path):
    with OutputFolder(tmp_path / "out", "first"), pytest.raises(OutputError, match="being written by another run "
                                                                   r"\(first, process"):
        OutputFolder(tmp_path / "out", "second").__enter__()
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    (tmp_path / "out" / LOCK).write_text(json.dumps({"pid": int(dead.stdout), "command": "killed"}))
    with pytest.warns(UserWarning, match=r"taking over the lock of a run that no longer runs \(killed\)"), \
            OutputFolder(tmp_path / "out", "third"):
        assert json.loads((tmp_path / "out" / LOCK).read_text())["pid"] == os.getpid()


def test_tsgl_evaluate_never_writes_over_its_inputs(photos, tmp_path, capsys):
    before = snapshot(photos)
    for out in (photos, photos / "sets"):  # the 0.5.0 export wrote crops over the source photos
        with pytest.raises(SystemExit) as exit_info:
            evaluate(["--export-masks", "lama_medium", "--data", str(photos), "--out", str(out), "--size", "32"])
        assert exit_info.value.code == 2 and "--data" in capsys.readouterr().err
    assert snapshot(photos) == before
    export = tmp_path / "set"
    evaluate(["--export-masks", "lama_medium", "--data", str(photos), "--out", str(export), "--size", "32"])
    predictions = tmp_path / "pred"
    predictions.mkdir()
    for index in range(2):
        Image.open(export / f"p{index}.png").save(predictions / f"p{index}_mask000.png")
    Image.open(export / "p0.png").save(predictions / "grid.png")  # 0.5.0 wrote its grid over this one
    with pytest.raises(SystemExit):
        evaluate(["--predictions", str(predictions), "--ground-truth", str(export), "--out", str(predictions),
                  "--no-fid"])
    assert "is or lies inside --predictions" in capsys.readouterr().err
    (tmp_path / "a_file").write_text("x")
    with pytest.raises(SystemExit) as exit_info:
        evaluate(["--predictions", str(predictions), "--ground-truth", str(export), "--out", str(tmp_path / "a_file")])
    assert exit_info.value.code == 2 and "exists and is not a folder" in capsys.readouterr().err


def test_tsgl_evaluate_refuses_a_folder_another_run_is_writing(photos, tmp_path, capsys):
    with OutputFolder(tmp_path / "set", "tsgl-evaluate"), pytest.raises(SystemExit) as exit_info:
        evaluate(["--export-masks", "lama_medium", "--data", str(photos), "--out", str(tmp_path / "set")])
    assert exit_info.value.code == 2 and "being written by another run" in capsys.readouterr().err


def test_tsgl_benchmark_refuses_foreign_files_and_inputs_before_training(photos, tmp_path, capsys):
    out = tmp_path / "run"
    out.mkdir()
    (out / "results.md").write_text("a results file of my own")
    with pytest.raises(SystemExit) as exit_info:
        benchmark_program.main(["--preset", "smoke", "--hosts", "lama", "--out", str(out), "--no-progress"])
    assert exit_info.value.code == 2 and "results.md; refusing to replace" in capsys.readouterr().err
    assert (out / "results.md").read_text() == "a results file of my own" and not (out / "lama").exists()
    with pytest.raises(SystemExit) as exit_info:
        benchmark_program.main(["--preset", "smoke", "--data", str(photos), "--out", str(photos / "out")])
    assert exit_info.value.code == 2 and "is or lies inside --data" in capsys.readouterr().err


def test_resuming_into_another_runs_folder_exits_with_one_line(tmp_path, capsys):
    common = ["--preset", "smoke", "--hosts", "lama", "--variants", "own", "--out", str(tmp_path), "--no-progress"]
    benchmark_program.main(common)
    with pytest.raises(SystemExit) as exit_info:
        benchmark_program.main([*common, "--resume", "--amp"])  # another training config: another run
    error = capsys.readouterr().err
    assert exit_info.value.code == 2 and "is from another run: its config" in error
    assert error.count("\n") == 1 and error.startswith("tsgl-benchmark: error:")


def test_tsgl_speed_refuses_an_out_inside_the_official_code(tmp_path, capsys):
    (tmp_path / "official").mkdir()
    with pytest.raises(SystemExit) as exit_info:
        speed_program.main(["--smoke", "--official", str(tmp_path / "official"),
                            "--out", str(tmp_path / "official" / "speed")])
    assert exit_info.value.code == 2 and "is or lies inside --official" in capsys.readouterr().err


def test_save_pretrained_replaces_its_own_files_only(tmp_path):
    encoder = create_encoder("tsgl_tiny")
    encoder.save_pretrained(tmp_path / "saved")
    encoder.save_pretrained(tmp_path / "saved")  # again: its own files
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "README.md").write_text("my project's readme")
    with pytest.raises(OutputError, match=r"README\.md; refusing to replace"):
        encoder.save_pretrained(tmp_path / "mine")
    assert (tmp_path / "mine" / "README.md").read_text() == "my project's readme"
