"""A reader's view in a real (headless) Chromium: build a chapter's widget in JupyterLab, move its slider, and check
that the figure it shows changes; open every chapter as a static page, as the docs site shows it without Python, and
check that it has no error output, no dead widget and no request outside the page, and that every kernel-free viewer
on it draws the observation its controls pick, in the colours of its colour table.

Needs Debian's `chromium` (`.ci/run` installs it) plus the dev extras `playwright` and `jupyterlab`. Where no browser
is installed the test is skipped with a message, except when `SPECX_NB_REQUIRE_BROWSER=1` (set by CI), where it fails.
"""
import base64
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request

import nbformat
import numpy as np
import pytest

from conftest import ROOT

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMIUM_FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync"]
# A chapter's widget and its kernel-free viewer, each built as the chapter builds them over a few observations, in a
# notebook of its own (nbdev_test runs the chapters whole): (notebook, CSS class of the widget, the cells). The
# widget's slider must change the figure it shows; the viewer must work in JupyterLab as on the static page.
WIDGETS = [
    ("spectrogram_browser.ipynb", "specx-spectrogram-browser", [
        "from specx_nb.data import example_indices\n"
        "from specx_nb.spectrogram import default_dataset, spectrogram_browser, spectrogram_viewer",
        "data = default_dataset(20)\nspectrogram_browser(data.series, data.images, data.labels)",
        "shown = example_indices(data.labels, 3)\n"
        "spectrogram_viewer(data.series[shown], data.images[shown], data.labels[shown], ids=shown)"]),
    ("lime_explorer.ipynb", "specx-lime-explorer", [
        "from specx_nb.data import example_indices\nfrom specx_nb.lime import image_lime, lime_explorer, lime_viewer\n"
        "from specx_nb.spectrogram import default_dataset\nfrom specx_nb.train import trained_network",
        "net, _ = trained_network()\ndata = default_dataset()\nshown = example_indices(data.labels, 2)\n"
        "lime_explorer(net, data.images[shown], data.labels[shown])",
        "maps = [image_lime(net, data.images[i], int(data.labels[i]), num_samples=256, seed=0).score_map\n"
        "        for i in shown]\n"
        "lime_viewer(data.images[shown], maps, data.labels[shown], ids=shown)"])]
# kernel-free viewers on each chapter's static page; every other page has none
VIEWERS = {"01_spectrogram.ipynb": 1, "04_lime.ipynb": 1, "91_viewer.ipynb": 1}
PAGES = [p for p in sorted((ROOT / "nbs").glob("*.ipynb"))
         if any(c.get("outputs") for c in json.loads(p.read_text())["cells"])]  # the chapters with stored outputs


def _missing():
    "Why the browser test cannot run here, or None."
    if CHROMIUM is None: return "no Chromium installed (Debian: apt-get install chromium)"
    try:
        import playwright.sync_api  # noqa: F401
        import jupyterlab  # noqa: F401
    except ImportError as e:
        return f"dev extra missing: {e.name} (pip install -e '.[dev]')"
    return None


if (why := _missing()) is not None:
    if os.environ.get("SPECX_NB_REQUIRE_BROWSER") == "1": raise RuntimeError(f"browser test required but {why}")
    pytest.skip(f"browser test skipped: {why}", allow_module_level=True)

from playwright.sync_api import TimeoutError as PlaywrightTimeoutError  # noqa: E402
from playwright.sync_api import expect, sync_playwright  # noqa: E402


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    "A JupyterLab server on a free loopback port over the widgets' notebooks; yields its base URL and token."
    root, settings = tmp_path_factory.mktemp("lab"), tmp_path_factory.mktemp("lab-settings")
    for name, _, cells in WIDGETS: nbformat.write(nbformat.v4.new_notebook(
        cells=[nbformat.v4.new_code_cell(c) for c in cells],
        metadata={"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}}), root / name)
    # Render every cell (no windowing, which drops off-screen cells from the page), start the notebook's kernel
    # without asking, never save (a page opened again shows the notebook unrun), and ask no questions about news.
    for plugin, values in [("notebook-extension/tracker", {"windowingMode": "none", "autoStartDefaultKernel": True}),
                           ("docmanager-extension/plugin", {"autosave": False}),
                           ("apputils-extension/notification", {"fetchNews": "false"})]:
        path = settings / "@jupyterlab" / f"{plugin}.jupyterlab-settings"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(values))
    port, token = _free_port(), "specx-nb-test"
    server = subprocess.Popen(
        [sys.executable, "-m", "jupyterlab", "--no-browser", f"--port={port}", "--ip=127.0.0.1",
         f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={root}", f"--LabApp.user_settings_dir={settings}",
         "--allow-root"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    for _ in range(120):
        try:
            urllib.request.urlopen(f"{url}/api/status?token={token}", timeout=1)
            break
        except OSError:
            time.sleep(0.5)
    else:
        server.kill()
        pytest.fail("JupyterLab did not start within 60 s")
    yield url, token
    server.terminate()
    server.wait(timeout=30)


@pytest.fixture(scope="module")
def browser():
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_FLAGS)
        yield b
        b.close()


def _image_source(widget):
    "The `src` of the figure that a widget shows (a data URL of a PNG, or a blob URL)."
    img = widget.locator("img").first
    expect(img).to_be_visible(timeout=120_000)
    return img.get_attribute("src")


def _open(browser, url, token, notebook):
    "A fresh page with `notebook` open, unrun, in a workspace of its own (so every locator finds its cells only)."
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.goto(f"{url}/lab/workspaces/{notebook.split('.')[0]}/tree/{notebook}?reset&token={token}")
    page.locator(".jp-Notebook").first.wait_for(timeout=120_000)
    page.locator(".jp-Notebook-ExecutionIndicator[data-status='idle']").first.wait_for(timeout=120_000)
    return page


def _run_all(open_page, css_class, shots, attempts=3):
    """A page of `open_page()` on which all cells ran and the widget of `css_class` shows, and the widget. The lab
    can drop queued cells when the kernel connects anew (they fall back to empty prompts without running), and a
    widget made in the first seconds of a fresh lab can stay at "Loading widget..." (its model reached the page before
    the widget manager listened to the kernel): then the page is closed and all cells run again on a fresh page, with
    a fresh widget manager, on the same kernel. The slider is moved only after the run, when the kernel is free."""
    for attempt in range(attempts):
        page = open_page()
        prompts = page.locator(".jp-InputPrompt")
        dialog = page.locator(".jp-Dialog")
        if dialog.count(): dialog.locator(".jp-mod-accept").first.click()  # e.g. "Select Kernel": take the default
        page.get_by_role("menuitem", name="Run", exact=True).click()
        page.get_by_role("menuitem", name=re.compile(r"^Run All Cells")).click()
        widget = page.locator(f".{css_class}").first
        try:
            prompts.filter(has_text=re.compile(r"\[(\*|\d+)\]")).first.wait_for(timeout=10_000)  # queued, or ran
            # none is left to run: all ran, some were dropped, or a cell failed
            expect(prompts.filter(has_text="[*]")).to_have_count(0, timeout=600_000)
            widget.wait_for(timeout=20_000)
            return page, widget
        except (PlaywrightTimeoutError, AssertionError):
            page.screenshot(path=shots / f"attempt{attempt}.png")
        errors = page.locator("[data-mime-type='application/vnd.jupyter.stderr']")  # the stored chapters have none
        if errors.count():
            pytest.fail(f"a cell failed: {errors.all_inner_texts()[-1][-2000:]}; screenshots in {shots}")
        page.close()
    pytest.fail(f"no complete run after {attempts} runs of all cells; screenshots in {shots}")


@pytest.mark.browser
@pytest.mark.parametrize("notebook, css_class", [w[:2] for w in WIDGETS], ids=[w[0] for w in WIDGETS])
def test_slider_changes_the_figure(lab, browser, notebook, css_class, tmp_path):
    page, widget = _run_all(lambda: _open(browser, *lab, notebook), css_class, tmp_path)
    before = _image_source(widget)
    handle = widget.locator(".noUi-handle").first
    handle.focus()
    handle.press("ArrowRight")
    expect(widget.locator("img").first).not_to_have_attribute("src", before, timeout=120_000)
    assert _image_source(widget) != before
    _check_viewer(page.locator(".specx-viewer").first)  # the kernel-free viewer works in JupyterLab too
    page.close()


@pytest.fixture(scope="module")
def static_pages(tmp_path_factory):
    """Every chapter with stored outputs as a static HTML page, from its stored outputs, nothing run. nbconvert's page
    template loads require.js, MathJax and Mermaid from a CDN, which the docs site does not use: an empty local file
    stands for them, so that any request outside the page comes from the chapter itself."""
    from nbconvert import HTMLExporter
    folder = tmp_path_factory.mktemp("pages")
    blank = folder / "blank.js"
    blank.write_text("")
    urls = {k: blank.as_uri() for k in ("require_js_url", "mathjax_url", "mermaid_js_url", "mermaid_layout_elk_js_url")}
    exporter = HTMLExporter(template_name="lab", **urls)
    pages = {}
    for nb_path in PAGES:
        pages[nb_path.name] = folder / f"{nb_path.stem}.html"
        pages[nb_path.name].write_text(exporter.from_filename(str(nb_path))[0])
    return pages


def _drawing(viewer):
    "Every canvas of a viewer as a PNG data URL."
    return viewer.locator("canvas").evaluate_all("canvases => canvases.map(c => c.toDataURL())")


def _check_colours(viewer, spec, observation):
    "In the middle of some image cells, the canvas has the colour table's colour for the value embedded there."
    for k, panel in enumerate(spec["panels"]):
        if panel["kind"] != "image": continue
        canvas = viewer.locator("canvas").nth(k)
        x, y, w, h = map(float, canvas.get_attribute("data-plot").split())
        rows, cols = panel["shape"]
        codes = np.frombuffer(base64.b64decode(observation["arrays"][k]["data"]), np.uint8).reshape(rows, cols)
        table = np.frombuffer(base64.b64decode(spec["cmaps"][panel["cmap"]]), np.uint8).reshape(256, 3)
        cells = [np.unravel_index(codes.argmax(), codes.shape), np.unravel_index(codes.argmin(), codes.shape),
                 (0, 0), (rows - 1, cols - 1), (rows // 3, cols // 2)]
        points = [[int(x + (c + 0.5) * w / cols), int(y + (r + 0.5) * h / rows)] for r, c in cells]
        drawn = canvas.evaluate("(c, points) => points.map(([x, y]) => "
                                "Array.from(c.getContext('2d').getImageData(x, y, 1, 1).data.slice(0, 3)))", points)
        assert drawn == [table[codes[r, c]].tolist() for r, c in cells], f"panel {k} is not drawn in its colours"


def _check_viewer(viewer):
    "Move the slider, then pick the last class: each time the title names the choice and every canvas is redrawn."
    spec = json.loads(viewer.locator("script[type='application/json']").text_content())
    menu, slider, title = viewer.locator("select"), viewer.locator("input[type=range]"), viewer.locator("[id$=-title]")

    def shows_the_choice():
        group = spec["classes"][int(menu.input_value())]
        observation = group["observations"][int(slider.input_value())]
        expect(title).to_have_text(f"{group['name']}, {observation['name']}")
        _check_colours(viewer, spec, observation)

    shows_the_choice()
    assert len(spec["classes"]) > 1 and len(spec["classes"][0]["observations"]) > 1
    before = _drawing(viewer)
    slider.fill("1")  # sets the value and sends the input event, as a drag or an arrow key does
    assert slider.input_value() == "1"
    shows_the_choice()
    moved = _drawing(viewer)
    assert all(a != b for a, b in zip(before, moved)), "the slider did not redraw every panel"
    menu.select_option(index=len(spec["classes"]) - 1)
    shows_the_choice()
    assert all(a != b for a, b in zip(moved, _drawing(viewer))), "the class menu did not redraw every panel"


@pytest.mark.browser
@pytest.mark.parametrize("nb_path", PAGES, ids=[p.name for p in PAGES])
def test_static_page(browser, static_pages, nb_path):
    "The page as the docs site shows it: no error, no dead widget, nothing fetched, and viewers that work."
    page = browser.new_page(viewport={"width": 1000, "height": 900})
    outside, script_errors = [], []
    page.on("pageerror", lambda e: script_errors.append(str(e)))

    def only_local(route):
        if route.request.url.startswith(("file:", "data:", "blob:")): return route.continue_()
        outside.append(route.request.url)
        route.abort()

    page.route("**/*", only_local)
    page.goto(static_pages[nb_path.name].as_uri())
    assert page.locator("[data-mime-type='application/vnd.jupyter.stderr']").count() == 0, "an error or stderr output"
    assert page.locator(".jupyter-widgets, script[type*='jupyter.widget']").count() == 0, "a saved widget"
    viewers = page.locator(".specx-viewer")
    assert viewers.count() == VIEWERS.get(nb_path.name, 0)
    for k in range(viewers.count()): _check_viewer(viewers.nth(k))
    assert outside == [], f"requests outside the page: {outside}"
    assert script_errors == []
    page.close()
