"End to end: `specx-nb population --quick` writes a complete population study whose controls come out as planted."
import json
import shutil
import subprocess

import pytest

from specx_nb.data import CLASS_NAMES
from specx_nb.model import HEADS
from specx_nb.population import VARIANTS

CLI = shutil.which("specx-nb")


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("population") / "results"
    result = subprocess.run([CLI, "population", "--out", str(out), "--quick", "--workers", "2"], capture_output=True,
                            text=True)
    assert result.returncode == 0, result.stderr
    return out, json.loads((out / "population.json").read_text())


def test_every_file_is_written(quick_run):
    out, _ = quick_run
    assert sorted(p.name for p in out.iterdir()) == ["population.json", "population_detection.png",
                                                      "population_reliance.png", "report.html"]
    report = (out / "report.html").read_text()
    assert 'id="summary"' in report and "http://" not in report and "https://" not in report


def test_one_record_per_network_and_class(quick_run):
    _, result = quick_run
    records = result["records"]
    assert len(records) == len(HEADS) * len(VARIANTS) * len(CLASS_NAMES)
    for record in records:
        assert set(record["margin_change"]) == {"removed", "doubled", "added"}
        mean, low, high = record["margin_change"]["removed"]
        assert low <= mean <= high
        assert all(0 <= r["positive"] <= 1 and 0 <= r["absolute"] <= 1 for r in record["readings"].values())


def test_the_controls_come_out_as_planted(quick_run):
    _, result = quick_run
    relies = {(r["variant"], r["head"], r["class_name"]): r["relies"] for r in result["records"]}
    for head in HEADS:
        assert relies["shortcut", head, "ThreeFrequency"], head  # the positive control uses its shortcut
        assert not any(relies["no_background", head, c] for c in CLASS_NAMES), head  # the negative control cannot


def test_detection_table_covers_every_reading(quick_run):
    _, result = quick_run
    readings = {(row["reading"], row["kind"]) for row in result["detection"]}
    assert ("lime_tree/mean/grid", "positive") in readings and ("grad_cam/-/grid", "absolute") in readings
    assert all(0 <= row["auc"] <= 1 for row in result["detection"])


@pytest.mark.parametrize("option", [["--seeds", "0"], ["--workers", "x"]])
def test_bad_options_get_one_line(tmp_path, option):
    result = subprocess.run([CLI, "population", "--out", str(tmp_path / "out"), *option], capture_output=True,
                            text=True)
    assert result.returncode == 2 and result.stderr.count("\n") == 1 and option[0] in result.stderr
    assert not (tmp_path / "out").exists()
