"""A reader's view: run a chapter in JupyterLab in a real (headless) Chromium, move a widget's slider, and check that
the figure it shows changes.

Needs Debian's `chromium` (`.ci/run` installs it) plus the dev extras `playwright` and `jupyterlab`. Where no browser
is installed the test is skipped with a message, except when `SPECX_NB_REQUIRE_BROWSER=1` (set by CI), where it fails.
"""
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request

import pytest

from conftest import ROOT

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMIUM_FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync"]
# (chapter, CSS class of its widget): the widget's slider must change the figure it shows
WIDGETS = [("01_spectrogram.ipynb", "specx-spectrogram-browser"), ("04_lime.ipynb", "specx-lime-explorer")]


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
    "A JupyterLab server on a free loopback port over a copy of the notebooks; yields its base URL and token."
    root, settings = tmp_path_factory.mktemp("lab"), tmp_path_factory.mktemp("lab-settings")
    for nb in (ROOT / "nbs").glob("*.ipynb"): shutil.copy(nb, root)
    # Render every cell (no windowing, which drops off-screen cells from the page), start the notebook's kernel
    # without asking, and ask no questions about news.
    for plugin, values in [("notebook-extension/tracker", {"windowingMode": "none", "autoStartDefaultKernel": True}),
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


def _run_all(page, widget, shots, attempts=3):
    """Run all cells and wait until none is left to run, then check that `widget` shows. JupyterLab drops queued
    cells when the kernel connects anew (they fall back to empty prompts without running): then Run All is given
    again. The slider is moved only after the run, when the kernel is free to answer it."""
    prompts = page.locator(".jp-InputPrompt")
    started = prompts.filter(has_text=re.compile(r"\[(\*|\d+)\]")).first
    pending = prompts.filter(has_text="[*]")
    errors = page.locator("[data-mime-type='application/vnd.jupyter.stderr']")  # the stored chapters have none
    for attempt in range(attempts):
        dialog = page.locator(".jp-Dialog")
        if dialog.count(): dialog.locator(".jp-mod-accept").first.click()  # e.g. "Select Kernel": take the default
        page.get_by_role("menuitem", name="Run", exact=True).click()
        page.get_by_role("menuitem", name=re.compile(r"^Run All Cells")).click()
        try:
            started.wait_for(timeout=30_000)  # the cells are queued, or have run
        except PlaywrightTimeoutError:
            page.screenshot(path=shots / f"attempt{attempt}.png")
            continue
        expect(pending).to_have_count(0, timeout=600_000)  # none is left: all ran, some were dropped, or a cell failed
        if widget.count(): return
        page.screenshot(path=shots / f"attempt{attempt}.png")
        if errors.count():
            pytest.fail(f"a cell failed: {errors.all_inner_texts()[-1][-2000:]}; screenshots in {shots}")
    pytest.fail(f"no complete run after {attempts} runs of all cells; screenshots in {shots}")


@pytest.mark.browser
@pytest.mark.parametrize("notebook, css_class", WIDGETS, ids=[w[0] for w in WIDGETS])
def test_slider_changes_the_figure(lab, browser, notebook, css_class, tmp_path):
    if not (ROOT / "nbs" / notebook).exists(): pytest.fail(f"{notebook} is missing")
    url, token = lab
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    # a workspace of its own, reset, so that only this notebook is open and every locator below finds its cells
    page.goto(f"{url}/lab/workspaces/{notebook.split('.')[0]}/tree/{notebook}?reset&token={token}")
    page.locator(".jp-Notebook").first.wait_for(timeout=120_000)
    page.locator(".jp-Notebook-ExecutionIndicator[data-status='idle']").first.wait_for(timeout=120_000)
    widget = page.locator(f".{css_class}").first
    _run_all(page, widget, tmp_path)
    before = _image_source(widget)
    handle = widget.locator(".noUi-handle").first
    handle.focus()
    handle.press("ArrowRight")
    expect(widget.locator("img").first).not_to_have_attribute("src", before, timeout=120_000)
    assert _image_source(widget) != before
    page.close()
