import pathlib

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def root():
    "The repository root."
    return ROOT


def pytest_configure(config):
    config.addinivalue_line("markers", "browser: runs a chapter in JupyterLab in headless Chromium (CI runs it)")
