"README.md is rendered from nbs/index.ipynb and must not go stale."
import os
import re
import subprocess
import sys

from conftest import ROOT


def test_readme_is_rendered_from_the_index():
    result = subprocess.run([sys.executable, str(ROOT / "tools" / "render_readme.py"), "--check"], capture_output=True,
                            text=True)
    assert result.returncode == 0, result.stderr


def test_the_python_example_runs_as_a_plain_script(tmp_path):
    "The README's Python example, run as a script, saves its figure: a user sees something without a notebook."
    block = re.search(r"```python\n(.*?)```", (ROOT / "README.md").read_text(), flags=re.S).group(1)
    assert "savefig" in block and "grid=(40, 6)" in block
    script = tmp_path / "example.py"
    script.write_text(block)
    result = subprocess.run([sys.executable, str(script)], cwd=tmp_path, capture_output=True, text=True,
                            env={**os.environ, "MPLBACKEND": "Agg"})
    assert result.returncode == 0, result.stderr
    figure = tmp_path / "lime.png"
    assert figure.exists() and figure.stat().st_size > 10_000
