"README.md is rendered from nbs/index.ipynb and must not go stale."
import subprocess
import sys

from conftest import ROOT


def test_readme_is_rendered_from_the_index():
    result = subprocess.run([sys.executable, str(ROOT / "tools" / "render_readme.py"), "--check"], capture_output=True,
                            text=True)
    assert result.returncode == 0, result.stderr
