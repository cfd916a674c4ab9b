"""Execute chapters in place, so that the site shows fresh outputs: `python tools/execute_notebooks.py nbs/04_lime.ipynb ...`.

Each notebook runs in its own kernel with `nbs/` as the working folder, as `nbdev_test` runs it. Widget state and
widget views are not stored (the static site cannot run them; the kernel-free viewers stand in for them). A notebook
that fails is left as it was, and the command exits with status 1 after trying the others. Run `nbdev_clean`
afterwards.
"""
import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"


def without_widgets(nb):
    "The notebook without widget state and without outputs that only show a widget."
    nb.metadata.pop("widgets", None)
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs = [o for o in cell.outputs if WIDGET_VIEW not in o.get("data", {})]
    return nb


def execute(path):
    "Run one notebook in place; True when every cell ran."
    nb = nbformat.read(path, as_version=4)
    start = time.perf_counter()
    try:
        NotebookClient(nb, kernel_name="python3", timeout=3600,
                       resources={"metadata": {"path": str(Path(path).parent)}}).execute()
    except CellExecutionError as error:
        text = str(error)
        print(f"FAILED {path}:\n{text[:2000]}\n...\n{text[-1500:]}", file=sys.stderr)
        return False
    nbformat.write(without_widgets(nb), path)
    print(f"ran {path} in {time.perf_counter() - start:.0f} s")
    return True


if __name__ == "__main__":
    results = [execute(p) for p in sys.argv[1:]]
    sys.exit(0 if all(results) else 1)
