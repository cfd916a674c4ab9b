import pathlib
import signal

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def root():
    "The repository root."
    return ROOT


def pytest_configure(config):
    config.addinivalue_line("markers", "browser: runs a chapter in JupyterLab in headless Chromium (CI runs it)")


def interruptible():
    """`preexec_fn` for a child that a test stops with SIGINT: a shell that runs the tests in the background starts them
    with SIGINT ignored, and a child would inherit that; in a terminal, Ctrl-C reaches it."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)
