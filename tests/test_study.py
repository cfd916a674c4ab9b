"""End to end: `specx-nb study` on a small configuration writes a complete, valid and reproducible study, and its
report reads as a finished document in a real browser."""
import base64
import html
import json
import os
import shutil
import subprocess

import matplotlib.pyplot as plt
import pytest

from conftest import refused
from specx_nb.core import format_interval
from specx_nb.data import CLASS_NAMES
from specx_nb.report import caption_mismatches
from specx_nb.train import load_model

SMALL = ["--num-samples", "256", "--band-obs-per-class", "3", "--trust-per-class", "1", "--stability-counts", "64", "128"]
CLI = shutil.which("specx-nb")
METHODS = ["lime_tree", "lime_linear", "occlusion", "grad_cam"]
STUDY_FIGURES = ["time_series.png", "spectrograms.png", "training_progress.png", "confusion.png", "lime_maps.png",
                 "band_check.png"]
TRUST_FIGURES = ["trust_ground_truth.png", "trust_relevance_mass.png", "trust_intervention.png", "trust_deletion.png",
                 "trust_randomization.png", "trust_stability.png", "trust_methods.png"]
FIGURES = [*STUDY_FIGURES, *TRUST_FIGURES]


def study(out, *extra, quiet=True):
    "Run the command; return the finished process."
    return subprocess.run([CLI, "study", "--out", str(out), *SMALL, *(["--quiet"] if quiet else []), *extra],
                          capture_output=True, text=True)


@pytest.fixture(scope="module")
def first_run(tmp_path_factory):
    "The small study, run with its progress bars."
    out = tmp_path_factory.mktemp("study") / "results"
    result = study(out, quiet=False)
    assert result.returncode == 0, result.stderr
    return out, result


def test_command_is_installed():
    assert CLI is not None, "the console script specx-nb is not on PATH"


def test_every_file_is_written_and_valid(first_run):
    out, result = first_run
    assert sorted(p.name for p in out.iterdir()) == sorted([*FIGURES, "metrics.json", "model.pt", "report.html"])
    assert sorted(p.name for p in out.parent.iterdir()) == ["results"]  # no hidden folder left beside it
    for name in FIGURES:
        image = plt.imread(out / name)
        assert image.ndim == 3 and min(image.shape[:2]) > 100, name
    assert load_model(out / "model.pt").training is False
    assert "report.html" in result.stdout.splitlines()[-1]


def test_progress_says_what_is_done_and_estimates_from_work(first_run):
    "The study's bar names the step and makes no guess from steps; the long steps count their real work."
    shown = first_run[1].stderr.replace("\r", "\n")
    for i, step in enumerate(["data", "network", "evaluation", "explanations", "background band", "trust"]):
        assert f"study, step {i + 1} of 6, {step} [" in shown, step
    assert "study: " not in shown.split("study, step 1 of 6")[1]  # no bar of steps with an estimate of time left
    work = 256 * (2 * 4 + 6 * 4) + 2 * 4 * 3 * (64 + 128)  # LIME samples: maps, randomisation, stability
    assert work == 12_800 and "trust: LIME samples: " in shown and "/12.8k [" in shown


def test_metrics_follow_the_schema(first_run):
    metrics = json.loads((first_run[0] / "metrics.json").read_text())
    assert metrics["class_names"] == list(CLASS_NAMES)
    assert 0.98 <= metrics["accuracy"] <= 1
    assert set(metrics["per_class_accuracy"]) == set(CLASS_NAMES)
    assert all(0 <= v <= 1 for v in metrics["per_class_accuracy"].values())
    matrix = metrics["confusion_matrix"]
    assert len(matrix) == 4 and all(len(row) == 4 for row in matrix)
    assert sum(map(sum, matrix)) == 400  # the validation set: 20% of 4 x 500
    assert [row["class_name"] for row in metrics["band_check"]] == list(CLASS_NAMES)
    for row in metrics["band_check"]:
        assert row["images"] == 3 and row["uses_region"] in (True, False, None) and row["reason"]
        assert row["margin_change"][1] <= row["margin_change"][0] <= row["margin_change"][2]
        assert all(0 <= v <= 1 for v in row["accuracy"])
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
    assert list(metrics["figures"]) == FIGURES
    assert len(metrics["explained_observations"]) == 8 and all(0 <= i < 2000 for i in metrics["explained_observations"])


def test_captions_name_only_what_their_figures_draw(first_run):
    figures = json.loads((first_run[0] / "metrics.json").read_text())["figures"]
    assert {name: caption_mismatches(f["caption"], f) for name, f in figures.items()} == {name: [] for name in figures}
    assert "dot" in figures["band_check.png"]["markers"]
    assert figures["lime_maps.png"]["colour_bars"] == 16  # a spectrogram and a map for each of 8 observations
    assert figures["trust_methods.png"]["colour_bars"] == 16  # four maps of one observation of each class


def test_report_embeds_every_figure(first_run):
    out, _ = first_run
    report = (out / "report.html").read_text()
    assert report.startswith("<!DOCTYPE html>")
    for name in FIGURES:
        assert f'data-file="{name}"' in report
        assert base64.b64encode((out / name).read_bytes()).decode() in report
    assert "http://" not in report and "https://" not in report  # opens offline


def test_report_summary_gives_the_numbers_of_every_class(first_run):
    out, _ = first_run
    metrics = json.loads((out / "metrics.json").read_text())
    report = (out / "report.html").read_text()
    summary = report.split('<ul id="summary">')[1].split("</ul>")[0]
    for name, accuracy in metrics["per_class_accuracy"].items(): assert html.escape(f"{name} {accuracy:.1%}") in summary
    for row in metrics["band_check"]:  # as the band table writes them
        change = format_interval(row["margin_change"], 1)
        assert f"{row['class_name']} {change}" in summary
        assert f"<td>{row['class_name']}</td><td>3</td><td>{change}</td>" in report
    assert "LIME (linear)" in summary and "LIME (regression tree" in summary
    assert "`" not in summary and "shortcut check" in summary
    assert "<code>{" not in report  # the settings are a table, not a JSON blob
    assert "<td>num_samples</td><td>256</td>" in report


def test_refuses_a_non_empty_folder_without_overwrite(first_run, capsys):
    out, _ = first_run
    before = {p.name: p.stat().st_mtime_ns for p in out.iterdir()}
    status, err = refused(capsys, "study", "--out", str(out))
    assert status == 2 and err.count("\n") == 1
    assert "argument --out:" in err and "--overwrite" in err and "Traceback" not in err
    assert {p.name: p.stat().st_mtime_ns for p in out.iterdir()} == before  # nothing touched


def test_same_seed_same_metrics(first_run, tmp_path):
    (tmp_path / "old.txt").write_text("replaced at the end")
    assert study(tmp_path, "--overwrite").returncode == 0
    assert not (tmp_path / "old.txt").exists()
    drop_timings = lambda p: {k: v for k, v in json.loads(p.read_text()).items() if k != "timings_s"}
    assert drop_timings(tmp_path / "metrics.json") == drop_timings(first_run[0] / "metrics.json")


CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMIUM_FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync"]


def _browser_missing():
    "Why the report cannot be opened in a browser here, or None."
    if CHROMIUM is None: return "no Chromium installed (Debian: apt-get install chromium)"
    try: import playwright.sync_api  # noqa: F401
    except ImportError: return "playwright missing (pip install -e '.[dev]')"
    return None


@pytest.mark.browser
def test_report_reads_as_a_finished_document_in_chromium(first_run):
    if (why := _browser_missing()) is not None:
        if os.environ.get("SPECX_NB_REQUIRE_BROWSER") == "1": pytest.fail(f"browser test required but {why}")
        pytest.skip(why)
    from playwright.sync_api import sync_playwright
    out, _ = first_run
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_FLAGS)
        page = browser.new_page()
        page.goto((out / "report.html").as_uri())
        page.wait_for_load_state("load")
        summary = page.locator("#summary li").all_inner_texts()
        figures = page.eval_on_selector_all("figure", """figures => figures.map(f => ({
            file: f.dataset.file, width: f.querySelector('img').naturalWidth, complete: f.querySelector('img').complete,
            caption: f.querySelector('figcaption').innerText, colours: f.dataset.colours.split(' ').filter(Boolean),
            line_styles: f.dataset.lineStyles.split(' ').filter(Boolean),
            markers: f.dataset.markers.split(' ').filter(Boolean), colour_bars: Number(f.dataset.colourBars)}))""")
        headings = page.locator("h2").all_inner_texts()
        browser.close()
    assert len(summary) == 4 and "validation observations correctly" in summary[0], summary
    assert all(name in summary[0] and name in summary[1] for name in CLASS_NAMES), summary
    assert headings[0] == "What the study found" and "Settings" in headings
    assert sorted(f["file"] for f in figures) == sorted(FIGURES)
    for f in figures:
        assert f["complete"] and f["width"] > 0, f"{f['file']} does not load"
        assert caption_mismatches(f["caption"], f) == [], (f["file"], f["caption"], caption_mismatches(f["caption"], f))
