"The kernel-free viewer's page fragment, checked without a browser: it stays well formed and stays low in the package."
import ast
import re

import numpy as np

from conftest import ROOT
from specx_nb.viewer import image_panel, kernel_free_viewer, series_panel


def _viewer(class_names, names=None):
    x = np.sin(np.linspace(0, 20, 4 * 50)).reshape(4, 50)
    images = np.arange(4 * 6, dtype=float).reshape(4, 2, 3)
    return kernel_free_viewer([series_panel(50), image_panel((0, 1, 2, 0), "inferno")], [x, images],
                              np.array([0, 1, 0, 1]), class_names, names)


def test_names_cannot_break_the_page():
    "Names that look like markup stay text: the JSON and the menu escape them, so the page keeps its two scripts."
    viewer = _viewer(["</script><b>one", "two & three"], names=[f"<i>{k}</i>" for k in range(4)])
    assert viewer.html.count("</script>") == 2
    assert viewer.html.count("<script") == 2
    assert "<b>" not in viewer.html and "<i>" not in viewer.html
    assert "&lt;/script&gt;&lt;b&gt;one" in viewer.html and "two &amp; three" in viewer.html


def test_every_viewer_has_its_own_ids():
    ids = [re.findall(r'id="([^"]+)"', _viewer(["a", "b"]).html) for _ in range(3)]
    assert len({i for page in ids for i in page}) == sum(len(page) for page in ids)


def test_viewer_module_imports_no_other_module_of_the_package():
    "The spectrogram and LIME modules use the viewer, so it must not import them (nor torch)."
    tree = ast.parse((ROOT / "specx_nb" / "viewer.py").read_text())
    modules = {a.name.split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    modules |= {("." * n.level) + (n.module or "") for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
    assert not any(m.startswith((".", "specx_nb", "torch")) for m in modules), modules
