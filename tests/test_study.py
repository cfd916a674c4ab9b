"End to end: `specx-nb study` on a small configuration writes a complete, valid and reproducible study."
import base64
import json
import shutil
import subprocess

import matplotlib.pyplot as plt
import pytest

from specx_nb.data import CLASS_NAMES
from specx_nb.study import FIGURES
from specx_nb.trust import METHODS, TRUST_FIGURES
from specx_nb.train import load_model

SMALL = ["--num-samples", "256", "--band-obs-per-class", "3", "--trust-per-class", "1", "--stability-counts", "64", "128",
         "--quiet"]
CLI = shutil.which("specx-nb")


def study(out, *extra):
    "Run the command; return the finished process."
    return subprocess.run([CLI, "study", "--out", str(out), *SMALL, *extra], capture_output=True, text=True)


@pytest.fixture(scope="module")
def first_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("study")
    result = study(out, "--overwrite")
    assert result.returncode == 0, result.stderr
    return out, result


def test_command_is_installed():
    assert CLI is not None, "the console script specx-nb is not on PATH"


def test_every_file_is_written_and_valid(first_run):
    out, result = first_run
    assert sorted(p.name for p in out.iterdir()) == sorted([*FIGURES, *TRUST_FIGURES, "metrics.json", "model.pt", "report.html"])
    for name in [*FIGURES, *TRUST_FIGURES]:
        image = plt.imread(out / name)
        assert image.ndim == 3 and min(image.shape[:2]) > 100, name
    assert load_model(out / "model.pt").training is False
    assert "report.html" in result.stdout.splitlines()[-1]


def test_metrics_follow_the_schema(first_run):
    metrics = json.loads((first_run[0] / "metrics.json").read_text())
    assert metrics["class_names"] == list(CLASS_NAMES)
    assert 0.98 <= metrics["accuracy"] <= 1
    assert set(metrics["per_class_accuracy"]) == set(CLASS_NAMES)
    assert all(0 <= v <= 1 for v in metrics["per_class_accuracy"].values())
    matrix = metrics["confusion_matrix"]
    assert len(matrix) == 4 and all(len(row) == 4 for row in matrix)
    assert sum(map(sum, matrix)) == 400  # the validation set: 20% of 4 x 500
    assert [row["class_name"] for row in metrics["background_share"]] == list(CLASS_NAMES)
    for row in metrics["background_share"]:
        assert row["observations"] == 3
        assert 0 <= row["background_mean"] <= 1 and 0 <= row["signal_mean"] <= 1
    assert metrics["settings"] == {"num_samples": 256, "obs_per_class": 2, "band_obs_per_class": 3, "trust_per_class": 1,
                                   "stability_counts": [64, 128], "device": "cpu"}
    trust = metrics["trust"]
    for key in ("relevance_mass", "background_share", "deletion_area"):
        assert set(CLASS_NAMES) == set(trust[key]["lime_linear"])
        assert all(0 <= v <= 1 for method in METHODS for v in trust[key][method].values()), key
    assert set(trust["intervention"]) == {"trained net", "background-free net"}
    assert len(trust["stability"]["agreement"]["linear"]) == 2
    assert {"python", "specx_nb", "torch", "numpy"} <= set(metrics["versions"])
    assert all(v >= 0 for v in metrics["timings_s"].values())


def test_report_embeds_every_figure(first_run):
    out, _ = first_run
    report = (out / "report.html").read_text()
    assert report.startswith("<!DOCTYPE html>")
    for name in [*FIGURES, *TRUST_FIGURES]:
        assert f'data-file="{name}"' in report
        assert base64.b64encode((out / name).read_bytes()).decode() in report
    assert "http://" not in report and "https://" not in report  # opens offline


def test_refuses_a_non_empty_folder_without_overwrite(first_run):
    out, _ = first_run
    before = {p.name: p.stat().st_mtime_ns for p in out.iterdir()}
    result = study(out)
    assert result.returncode == 2
    assert "--overwrite" in result.stderr and "Traceback" not in result.stderr
    assert {p.name: p.stat().st_mtime_ns for p in out.iterdir()} == before  # nothing touched


@pytest.mark.parametrize("option", [["--num-samples", "0"], ["--seed", "x"], ["--obs-per-class", "-1"]])
def test_bad_options_get_a_message_not_a_traceback(tmp_path, option):
    result = study(tmp_path / "out", *option)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr and option[0] in result.stderr


def test_same_seed_same_metrics(first_run, tmp_path):
    assert study(tmp_path, "--overwrite").returncode == 0
    drop_timings = lambda p: {k: v for k, v in json.loads(p.read_text()).items() if k != "timings_s"}
    assert drop_timings(tmp_path / "metrics.json") == drop_timings(first_run[0] / "metrics.json")
