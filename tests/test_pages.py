"""The docs site as a reader meets it, checked on the stored notebooks: what a page shows, how wide it is, how much of
its visible code is tests, and whether its signatures read cleanly. Quarto is not needed: the site shows the stored
outputs, and nbdev renders the signatures with the same `show_doc` that these tests call.

A cell is visible on the site unless a directive hides it (`#| hide`, `#| export`, `#| exporti`, `#| echo: false`,
`#| include: false`); exported cells show on the site only through their `show_doc` signature.
"""
import ast
import importlib
import inspect
import json
import re

import pytest

from conftest import ROOT

NOTEBOOKS = sorted((ROOT / "nbs").glob("*.ipynb"))
CHAPTERS = [p for p in NOTEBOOKS if p.name != "index.ipynb"]
# The site's text column with nbdev's cosmo theme, read in Chromium at 1280 px: 678 px, which shows 73 characters of
# code before a block scrolls sideways (measured on the rendered site; _quarto.yml keeps Quarto's default grid).
MAX_WIDTH = 73
MAX_TEST_SHARE = 0.30  # of a page's visible code lines
HIDING = {"hide", "export", "exporti"}
TEST_CALL = re.compile(r"test_\w*$")


def cells(nb_path):
    return json.loads(nb_path.read_text())["cells"]


def source(cell): return "".join(cell["source"])


def directives(text):
    "{directive: value} of a cell's `#|` lines."
    return {k.rstrip(":"): v.strip() for k, v in re.findall(r"^#\|\s*([\w-]+:?)(.*)$", text, flags=re.M)}


def visible(cell):
    "Whether a code cell's source shows on the site."
    d = directives(source(cell))
    return not (HIDING & set(d) or d.get("echo") == "false" or d.get("include") == "false")


def code_lines(text):
    "The lines of a cell that a reader sees as code: no directives, comments or blank lines."
    return [line for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]


def is_test(node):
    "A statement that only checks: a `test_*` call, an assert, or a loop or block made of checks."
    if isinstance(node, ast.Assert): return True
    if isinstance(node, ast.Expr) and isinstance(node.value, ast.Call):
        func = node.value.func
        return bool(TEST_CALL.match(getattr(func, "id", getattr(func, "attr", ""))))
    if isinstance(node, (ast.For, ast.With, ast.If)): return all(is_test(n) for n in node.body + node.orelse) \
        if isinstance(node, (ast.For, ast.If)) else all(is_test(n) for n in node.body)
    return False


def checking_lines(text):
    "How many of a cell's code lines belong to statements that only check."
    lines = text.splitlines()
    try: tree = ast.parse(re.sub(r"^[%!].*$", "", text, flags=re.M))
    except SyntaxError: return 0
    return sum(len(code_lines("\n".join(lines[n.lineno - 1:n.end_lineno]))) for n in tree.body if is_test(n))


def visible_code(nb_path):
    return [source(c) for c in cells(nb_path) if c["cell_type"] == "code" and visible(c)]


@pytest.mark.parametrize("nb_path", CHAPTERS, ids=lambda p: p.name)
def test_visible_code_is_mostly_demos(nb_path):
    "Edge-case and bad-input checks live in hidden cells or tests/: at most 30% of visible code is tests."
    sources = visible_code(nb_path)
    total = sum(len(code_lines(s)) for s in sources)
    tests = sum(checking_lines(s) for s in sources)
    assert tests <= MAX_TEST_SHARE * total, f"{tests} of {total} visible code lines are tests"


@pytest.mark.parametrize("nb_path", NOTEBOOKS, ids=lambda p: p.name)
def test_nothing_to_scroll_sideways(nb_path):
    "Visible code, printed output and signatures fit the column."
    wide = [line for s in visible_code(nb_path) for line in code_lines(s) if len(line) > MAX_WIDTH]
    for cell in cells(nb_path):
        for out in cell.get("outputs", []) if cell["cell_type"] == "code" and visible(cell) else []:
            data = out.get("data", {})
            if out["output_type"] == "stream": text = "".join(out["text"])
            elif set(data) <= {"text/plain"}: text = "".join(data.get("text/plain", ""))
            else: continue
            wide += [line for line in text.splitlines() if len(line) > MAX_WIDTH]
    wide += [line for _, block, _ in signatures(nb_path) for line in block.splitlines() if len(line) > MAX_WIDTH]
    assert not wide, f"{len(wide)} lines wider than {MAX_WIDTH} characters:\n" + "\n".join(wide[:20])


def title(nb_path): return source(cells(nb_path)[0])


@pytest.mark.parametrize("nb_path", NOTEBOOKS, ids=lambda p: p.name)
def test_description_is_one_line(nb_path):
    "nbdev keeps only the first `> ` line of the title cell as the page's subtitle."
    lines = title(nb_path).splitlines()
    quoted = [i for i, line in enumerate(lines) if line.startswith(">")]
    assert len(quoted) == 1, f"the description spans {len(quoted)} lines"
    assert lines[0].startswith("# ")


@pytest.mark.parametrize("nb_path", CHAPTERS, ids=lambda p: p.name)
def test_no_sentence_introduces_hidden_code(nb_path):
    "A sentence ending in a colon must be followed by something the site shows."
    nb = cells(nb_path)
    for cell, following in zip(nb, nb[1:]):
        if cell["cell_type"] == "markdown" and source(cell).rstrip().endswith(":"):
            shown = following["cell_type"] == "markdown" or visible(following)
            assert shown, f"this introduces a hidden cell:\n{source(cell)[-200:]}"


def namespace(nb_path):
    "The names a chapter's `show_doc` cells can refer to: its module's, after importing it."
    m = re.search(r"#\|\s*default_exp\s+([\w.]+)", "\n".join(source(c) for c in cells(nb_path)))
    names = vars(importlib.import_module(f"specx_nb.{m.group(1)}")) if m else {}
    return {**names, "specx_nb": importlib.import_module("specx_nb")}  # also dotted names: specx_nb.lime.X


def signatures(nb_path):
    "(name, signature block, object) of every `show_doc` cell of a page, rendered as the site renders it."
    from nbdev.showdoc import show_doc
    names, found = namespace(nb_path), []
    for cell in cells(nb_path):
        for name in re.findall(r"^show_doc\(([\w.]+)\)", source(cell), flags=re.M) if cell["cell_type"] == "code" else []:
            obj = eval(name, dict(names))  # a dotted name of the chapter's module, e.g. a method
            markdown = show_doc(obj)._repr_markdown_()  # with the renderer that settings.ini names
            found.append((name, re.search(r"```python\n(.*?)```", markdown, flags=re.S).group(1), obj))
    return found


@pytest.mark.parametrize("nb_path", CHAPTERS, ids=lambda p: p.name)
def test_signatures_read_cleanly(nb_path):
    """Docments in plain words; every documented name public, plain (as nbdev's automatic documentation names it, so
    that it is shown once) and shown once; a class shown as a class with its fields, not as `def Name(*args, **kwargs)`."""
    shown = signatures(nb_path)
    names = [name for name, _, _ in shown]
    assert len(names) == len(set(names)), f"shown twice: {sorted({n for n in names if names.count(n) > 1})}"
    for name, block, obj in shown:
        assert not any(part.startswith("_") for part in name.split(".")), f"show_doc of a private name: {name}"
        assert not name.startswith("specx_nb."), f"show_doc({name}): nbdev documents it again as {name.split('.')[-1]}"
        assert "*args, **kwargs" not in block, f"{name} is shown without its fields or parameters"
        if inspect.isclass(obj): assert block.startswith("class "), f"{name} is shown as:\n{block}"
        comments = [line.split("#", 1)[1] for line in block.splitlines() if "#" in line]
        marked = [c for c in comments if "`" in c or "](" in c]
        assert not marked, f"{name}: docments with markup, shown raw on the site: {marked}"


@pytest.mark.parametrize("nb_path", CHAPTERS, ids=lambda p: p.name)
def test_no_dead_widgets_or_stray_reprs(nb_path):
    "The site runs no Python: no stored widget views or widget state; no printed network structure."
    assert "widgets" not in json.loads(nb_path.read_text())["metadata"], "widget state stored"
    for cell in cells(nb_path):
        if cell["cell_type"] != "code" or not visible(cell): continue
        for out in cell.get("outputs", []):
            data = out.get("data", {})
            assert "application/vnd.jupyter.widget-view+json" not in data, f"dead widget under:\n{source(cell)}"
            text = "".join(data.get("text/plain", ""))
            assert not re.match(r"\w+\(\n\s+\(\w+\): ", text), f"a network's repr under:\n{source(cell)}"


DEFINITIONS = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Assign, ast.AnnAssign)


def export_cells(nb_path):
    "The sources of a chapter's exported cells."
    return [source(c) for c in cells(nb_path) if c["cell_type"] == "code"
            and {"export", "exporti"} & set(directives(source(c)))]


@pytest.mark.parametrize("nb_path", CHAPTERS, ids=lambda p: p.name)
def test_one_definition_per_export_cell(nb_path):
    "As in fastcore: every exported cell defines one thing (a function, a class or a constant), or only imports."
    crowded = []
    for text in export_cells(nb_path):
        defined = [n for n in ast.parse(text).body if isinstance(n, DEFINITIONS)]
        if len(defined) > 1: crowded.append(", ".join(getattr(n, "name", None) or ast.unparse(n)[:30] for n in defined))
    assert not crowded, f"{len(crowded)} export cells define more than one thing: {crowded[:8]}"


def shown_text(out):
    "Everything an output shows as text: printed text, plain, Markdown and HTML data."
    data = out.get("data", {})
    return "".join(out.get("text", "")) + "".join("".join(data.get(k, "")) for k in ("text/plain", "text/markdown", "text/html"))


@pytest.mark.parametrize("nb_path", NOTEBOOKS, ids=lambda p: p.name)
def test_no_raw_float_reprs(nb_path):
    "Numbers show as the prose cites them: no stored output holds a float with twelve or more decimals."
    for cell in cells(nb_path):
        for out in cell.get("outputs", []) if cell["cell_type"] == "code" else []:
            found = re.findall(r"\d\.\d{12,}", shown_text(out))
            assert not found, f"{found[:3]} under:\n{source(cell)[:300]}"


@pytest.mark.parametrize("nb_path", NOTEBOOKS, ids=lambda p: p.name)
def test_no_link_to_a_private_name(nb_path):
    """nbdev links every backticked name of the package's index, private helpers too, to a heading; a private helper
    has none on its page, so prose names it as code without backticks (`<code>_helper</code>`) or in words."""
    for cell in cells(nb_path):
        if cell["cell_type"] == "markdown":
            found = [n for n in re.findall(r"`(_\w[\w.]*)`", source(cell)) if not n.endswith((".py", "__"))]
            assert not found, f"private names in backticks: {found}"


@pytest.mark.parametrize("nb_path", NOTEBOOKS, ids=lambda p: p.name)
def test_every_figure_has_alt_text(nb_path):
    "A cell whose figure the site shows (`echo: false` hides only the code) says what it shows (`#| fig-alt:`)."
    for cell in cells(nb_path):
        if cell["cell_type"] != "code": continue
        d = directives(source(cell))
        if HIDING & set(d) or d.get("include") == "false": continue
        if any("image/png" in out.get("data", {}) for out in cell.get("outputs", [])):
            assert directives(source(cell)).get("fig-alt"), f"a figure without alt text under:\n{source(cell)[:300]}"


def test_the_site_has_a_favicon():
    "Every page asks for a favicon; the site names one that exists."
    import yaml
    favicon = yaml.safe_load((ROOT / "_quarto.yml").read_text())["website"]["favicon"]
    assert (ROOT / "nbs" / favicon).is_file()
