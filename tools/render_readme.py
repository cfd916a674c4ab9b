"""Render `nbs/index.ipynb` to `README.md` without Quarto.

nbdev processes the cells as the docs site would (hidden cells and directives removed), then nbconvert writes GitHub
Markdown, with the figures saved beside it in `README_files/`. `--check` changes nothing and fails when the README or
its figures are stale.
"""
import argparse
import json
import pathlib
import re
import sys

import nbformat
from execnb.nbio import nb2dict
from nbconvert import MarkdownExporter
from nbdev.process import NBProcessor
from nbdev.processors import clean_magics, hide_, rm_header_dash, strip_ansi
from traitlets.config import Config

ROOT = pathlib.Path(__file__).resolve().parents[1]
FIGURES = "README_files"


def _echo_off(cell):
    "Mark a cell with `#| echo: false` so the exporter keeps its output and drops its code."
    if cell.cell_type == "code" and cell.directives_.get("echo:") == ["false"]:
        cell.metadata.setdefault("tags", []).append("remove_input")


def render(index=ROOT / "nbs" / "index.ipynb"):
    "The README text and its figures {file name: bytes} rendered from `index`."
    processor = NBProcessor(index, procs=[clean_magics, hide_, rm_header_dash, strip_ansi, _echo_off])
    processor.process()
    nb = nbformat.reads(json.dumps(nb2dict(processor.nb)), as_version=4)  # joins multi-line sources
    config = Config()
    config.TagRemovePreprocessor.remove_input_tags = {"remove_input"}
    config.TagRemovePreprocessor.enabled = True
    body, resources = MarkdownExporter(config=config).from_notebook_node(
        nb, resources={"output_files_dir": FIGURES})
    body = re.sub(r"\]\((\w+\.ipynb)\)", r"](nbs/\1)", body)  # chapter links, relative to the repository root
    return body.strip() + "\n", {pathlib.Path(k).name: v for k, v in resources.get("outputs", {}).items()}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="fail if README.md is stale; write nothing")
    args = parser.parse_args(argv)
    text, figures = render()
    readme, figure_dir = ROOT / "README.md", ROOT / FIGURES
    if args.check:
        stale = readme.read_text() != text or {p.name: p.read_bytes() for p in figure_dir.glob("*")} != figures
        if stale: print("README.md is stale: run `python tools/render_readme.py`", file=sys.stderr)
        return int(stale)
    readme.write_text(text)
    figure_dir.mkdir(exist_ok=True)
    for old in figure_dir.glob("*"): old.unlink()
    for name, data in figures.items(): (figure_dir / name).write_bytes(data)
    return 0


if __name__ == "__main__":
    sys.exit(main())
