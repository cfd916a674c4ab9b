import pathlib
import signal

import pytest

from specx_nb.cli import main

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


def refused(capsys, *args):
    """Run `specx-nb` with `args` in this process (the command's own `main`, without the seconds a new process spends
    importing torch) when it stops on its command line: its exit status and standard error."""
    with pytest.raises(SystemExit) as stop: main(list(args))
    return stop.value.code, capsys.readouterr().err
