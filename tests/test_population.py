"""End to end: `specx-nb population --quick` here, in worker processes and on a real Dask cluster, stopped and resumed.

Every run uses the same network cache (`SPECX_NB_CACHE`, shared with the Dask workers this module starts), so the
networks are trained once; the explanations are computed in every run.
"""
import json
import os
import shutil
import signal
import subprocess
import sys
import time

import pytest

from conftest import interruptible, refused
from specx_nb.data import CLASS_NAMES
from specx_nb.population import NetworkSpec, network_key

CLI = shutil.which("specx-nb")
QUICK_NETWORKS = 7  # two planted classes at two doses, and three controls, on one head and seed
# glibc's allocator settings for Dask workers that the population chapter advises (bench/README.md measures why):
# Dask's own default for its workers makes every large tensor a fresh mmap, and a network twice as slow
MALLOC = {"MALLOC_MMAP_THRESHOLD_": "33554432", "MALLOC_TRIM_THRESHOLD_": "67108864"}


def population(out, *options, timeout=600):
    "Run `specx-nb population --quick` into `out`; the completed process."
    return subprocess.run([CLI, "population", "--out", str(out), "--quick", *options], capture_output=True,
                          text=True, timeout=timeout)


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory):
    "The quick population, run locally with two workers: its folder, its result and the command's stderr."
    out = tmp_path_factory.mktemp("population") / "local"
    result = population(out, "--workers", "2")
    assert result.returncode == 0, result.stderr
    return out, json.loads((out / "population.json").read_text()), result.stderr


def test_every_file_is_written_and_the_run_says_it_is_quick(quick_run):
    out, result, _ = quick_run
    assert sorted(p.name for p in out.iterdir()) == ["population.json", "population_detection.png",
                                                      "population_dose.png", "report.html"]
    assert not (out.parent / f".{out.name}.work").exists()  # the working folder is gone once the run is done
    report = (out / "report.html").read_text()
    assert 'id="summary"' in report and "http://" not in report and "https://" not in report
    assert "quick" in report.lower() and "512" in report and 'id="settings"' in report
    assert result["settings"]["quick"] is True


def test_every_network_names_its_dose_and_planted_class(quick_run):
    _, result, _ = quick_run
    networks = result["settings"]["networks"]
    assert len(networks) == QUICK_NETWORKS
    assert {n["strength"] for n in networks if n["data"] == "planted"} == {0.25, 1.0}
    assert {n["planted_class"] for n in networks if n["data"] == "planted"} == {"ThreeFrequency", "Pulse"}
    assert all(n["strength"] is None and n["planted_class"] is None for n in networks if n["data"] != "planted")
    assert len(result["records"]) == QUICK_NETWORKS * len(CLASS_NAMES)


def test_the_controls_come_out_as_planted(quick_run):
    _, result, _ = quick_run
    records = result["records"]
    for r in records:
        if r["data"] == "planted" and r["class_name"] == r["planted_class"] and r["strength"] == 1.0:
            assert r["relies"], r["class_name"]  # the positive control uses its full-strength shortcut
        if r["data"] == "no_background": assert not r["relies"]  # the negative control cannot
        for mean, low, high in r["margin_change"].values(): assert low <= mean <= high


def test_a_known_answer_is_detected_and_intervals_cover_their_estimates(quick_run):
    _, result, _ = quick_run
    rows = {(r["reading"], r["kind"], r["within_class"], r["strength"]): r for r in result["detection"]}
    for reading in (("direct", "margin"), ("lime_linear/margin/floor/rows", "positive")):
        row = rows[(*reading, "ThreeFrequency", 1.0)]
        assert row["relying"] == 1 and row["auc"] == 1.0, row
    for row in result["detection"]:
        if row["auc"] == row["auc"]: assert row["auc_interval"][0] <= row["auc"] <= row["auc_interval"][1]


def test_progress_is_one_line_per_network(quick_run):
    _, _, stderr = quick_run
    lines = [line for line in stderr.splitlines() if line.startswith("population: ")]
    assert len(lines) == QUICK_NETWORKS and lines[-1].startswith(f"population: {QUICK_NETWORKS}/{QUICK_NETWORKS}")


def records_of(out):
    return json.loads((out / "population.json").read_text())["records"]


def test_a_dask_cluster_gives_the_same_records_even_when_a_worker_dies(quick_run, tmp_path, monkeypatch):
    "A real scheduler and two worker processes; one worker is killed after the first network: Dask runs its task again."
    distributed = pytest.importorskip("distributed")
    local, _, _ = quick_run
    for name, value in MALLOC.items(): monkeypatch.setenv(name, value)  # the workers start as the chapter advises
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
        command = [CLI, "population", "--out", str(tmp_path / "dask"), "--quick", "--scheduler",
                   cluster.scheduler_address]
        run = subprocess.Popen(command, stderr=subprocess.PIPE, text=True)
        first = run.stderr.readline()
        assert first.startswith("population: 1/"), first
        victim = next(iter(cluster.workers.values()))
        os.kill(victim.process.pid, signal.SIGKILL)
        rest = run.stderr.read()
        assert run.wait(timeout=600) == 0, rest
    assert records_of(tmp_path / "dask") == records_of(local)


def test_a_stopped_run_resumes_without_recomputing(quick_run, tmp_path):
    local, _, _ = quick_run
    out = tmp_path / "stopped"
    run = subprocess.Popen([CLI, "population", "--out", str(out), "--quick", "--workers", "2"], stderr=subprocess.PIPE,
                           text=True, preexec_fn=interruptible)
    for _ in range(2): assert run.stderr.readline().startswith("population: ")
    run.send_signal(signal.SIGINT)
    message = run.stderr.read()
    assert run.wait(timeout=120) == 130 and not out.exists()
    work = tmp_path / ".stopped.work"
    kept = {p.name: p.stat().st_mtime_ns for p in (work / "networks").glob("*.json")}
    assert len(kept) >= 2 and f"{len(kept)} of {QUICK_NETWORKS} networks are kept" in message and "--resume" in message
    resumed = population(out, "--resume", "--workers", "2")
    assert resumed.returncode == 0, resumed.stderr
    progress = [line for line in resumed.stderr.splitlines() if line.startswith("population: ")]
    assert len(progress) == QUICK_NETWORKS - len(kept)  # the kept networks were not computed again
    assert progress[0].startswith(f"population: {len(kept) + 1}/{QUICK_NETWORKS}")
    assert records_of(out) == records_of(local) and not work.exists()


def test_a_resumed_run_with_other_settings_is_refused(tmp_path, capsys):
    work = tmp_path / ".pop.work"
    work.mkdir()
    (work / "settings.json").write_text(json.dumps({"networks": [], "quick": False}))
    status, err = refused(capsys, "population", "--out", str(tmp_path / "pop"), "--quick", "--resume")
    assert status == 2 and err.count("\n") == 1 and "argument --resume: the run kept in" in err
    assert not (tmp_path / "pop").exists()


def test_a_scheduler_that_does_not_answer_is_named_at_once(tmp_path):
    start = time.perf_counter()
    result = population(tmp_path / "out", "--scheduler", "tcp://127.0.0.1:9")
    assert result.returncode == 2 and "--scheduler" in result.stderr and result.stderr.count("\n") == 1
    assert time.perf_counter() - start < 30 and not (tmp_path / "out").exists()
    assert not (tmp_path / ".out.work").exists()


@pytest.mark.parametrize("option", [["--seeds", "0"], ["--workers", "x"]])
def test_bad_options_get_one_line(tmp_path, capsys, option):
    status, err = refused(capsys, "population", "--out", str(tmp_path / "out"), "--quick", *option)
    assert status == 2 and err.count("\n") == 1 and f"argument {option[0]}:" in err
    assert not (tmp_path / "out").exists()
