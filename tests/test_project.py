"Checks on the project as a whole: notebooks, module, docs site files and README agree."
import configparser
import importlib
import inspect
import json
import re
import shutil
import subprocess

import pytest
import yaml

from conftest import ROOT

NOTEBOOKS = sorted(p for p in (ROOT / "nbs").glob("*.ipynb"))
CHAPTERS = [p for p in NOTEBOOKS if p.name != "index.ipynb"]
SETTINGS = configparser.ConfigParser(delimiters=["="])
SETTINGS.read(ROOT / "settings.ini")
CFG = SETTINGS["DEFAULT"]


def exported_modules():
    "The modules that notebooks export, by name."
    names = []
    for nb in CHAPTERS:
        m = re.search(r"#\|\s*default_exp\s+([\w.]+)", nb.read_text())
        if m: names.append(f"specx_nb.{m.group(1)}")
    return names


def test_module_in_step_with_notebooks(tmp_path):
    "Exporting the notebooks again reproduces the committed module exactly."
    for name in ["nbs", "specx_nb", "settings.ini", "setup.py", "pyproject.toml", "README.md"]:
        src = ROOT / name
        (shutil.copytree if src.is_dir() else shutil.copy)(src, tmp_path / name)
    subprocess.run(["nbdev_export"], cwd=tmp_path, check=True)
    for py in sorted((ROOT / "specx_nb").glob("*.py")):
        assert (tmp_path / "specx_nb" / py.name).read_text() == py.read_text(), f"{py.name} differs from its notebook"
    assert sorted(p.name for p in (tmp_path / "specx_nb").glob("*.py")) == \
        sorted(p.name for p in (ROOT / "specx_nb").glob("*.py"))


def sidebar_pages(entries=None):
    "The notebooks the sidebar lists, in its order, sections flattened."
    if entries is None: entries = yaml.safe_load((ROOT / "nbs" / "sidebar.yml").read_text())["website"]["sidebar"]["contents"]
    return [p for e in entries for p in ([e] if isinstance(e, str) else sidebar_pages(e["contents"]))]


def test_sidebar_lists_every_notebook_once_in_file_order():
    "The sidebar is the reading order: every notebook once, the landing page first, then the chapters as numbered."
    pages = sidebar_pages()
    assert pages == ["index.ipynb"] + [p.name for p in CHAPTERS]


def test_the_design_cards_chapters_open_the_book():
    "The card's five notebooks exist under their names and are the first section; foundations end the sidebar."
    sections = yaml.safe_load((ROOT / "nbs" / "sidebar.yml").read_text())["website"]["sidebar"]["contents"]
    card = ["00_data.ipynb", "01_spectrogram.ipynb", "02_model.ipynb", "03_train.ipynb", "04_lime.ipynb"]
    assert sections[1]["contents"] == card
    assert sections[-1]["section"] == "Appendix"
    assert all(foundation(nb) for nb in sections[-1]["contents"]), "the appendix holds foundations only"


def test_site_settings_agree():
    nbdev_yml = yaml.safe_load((ROOT / "nbs" / "nbdev.yml").read_text())["website"]
    assert nbdev_yml["title"] == CFG["title"]
    assert nbdev_yml["repo-url"] == CFG["git_url"]
    assert nbdev_yml["description"] == CFG["description"]
    assert nbdev_yml["site-url"] == CFG["doc_host"] + CFG["doc_baseurl"]
    assert (ROOT / "nbs" / "_quarto.yml").resolve() == (ROOT / "_quarto.yml").resolve()


def test_site_loads_nothing_from_other_hosts():
    """The settings that keep the site's pages free of requests to other hosts: formulas as MathML (no MathJax from a
    CDN), the theme without web fonts (no Google Fonts), and HTML outputs handed to Quarto as raw HTML blocks (Quarto
    adds require.js and jQuery from a CDN to any page with an HTML output)."""
    html = yaml.safe_load((ROOT / "_quarto.yml").read_text())["format"]["html"]
    assert html["html-math-method"] == "mathml"
    themes = [t for t in html["theme"] if t.endswith(".scss")]
    assert themes and all("$web-font-path: false;" in (ROOT / "nbs" / t).read_text() for t in themes), themes
    assert "specx_nb.showdoc:html_as_raw_markdown" in CFG["procs"].split()
    assert CFG["renderer"] == "specx_nb.showdoc.ClassRenderer"


def test_site_build_leaves_the_readme_alone():
    """nbdev_docs rewrites README.md from `readme_nb` when that notebook exists; ours names none, so only
    tools/render_readme.py writes the README."""
    assert not (ROOT / "nbs" / CFG["readme_nb"]).exists(), "nbdev_docs would overwrite README.md"
    assert "render_readme.py" in (ROOT / "settings.ini").read_text()


def readme_commands():
    "The commands of the README's fenced `sh` blocks, each with its continuation lines joined."
    blocks = re.findall(r"```(?:sh|bash)\n(.*?)```", (ROOT / "README.md").read_text(), flags=re.S)
    return [line for block in blocks for line in re.sub(r"\\\n\s*", "", block).strip().splitlines()]


def test_readme_gives_two_commands_and_ci_runs_the_test_one():
    commands = readme_commands()
    assert len(commands) == 2, commands
    assert all(c.startswith("python3 -m venv .venv && . .venv/bin/activate && pip install -e ") for c in commands)
    test_command = next(c for c in commands if "pytest tests" in c)
    assert "nbdev_test" in test_command
    assert 'readme_command "pytest tests"' in (ROOT / ".ci" / "run").read_text()


def outputs(nb_path):
    "(cell source, outputs) of every code cell of a stored notebook."
    nb = json.loads(nb_path.read_text())
    return [("".join(c["source"]), c.get("outputs", [])) for c in nb["cells"] if c["cell_type"] == "code"]


@pytest.mark.parametrize("nb_path", CHAPTERS, ids=lambda p: p.name)
def test_stored_outputs_are_fit_to_read(nb_path):
    "No error, warning or machine-specific path in any output; every plotting cell shows its figure."
    for source, outs in outputs(nb_path):
        for out in outs:
            assert out["output_type"] != "error", f"error output under:\n{source}"
            text = "".join(out.get("text", "")) + "".join(out.get("data", {}).get("text/plain", ""))
            assert not (out.get("name") == "stderr" and "Warning" in text), f"warning under:\n{source}\n{text}"
            assert not re.search(r"/(work|root|home|tmp)/", text), f"machine path under:\n{source}\n{text}"
        if re.match(r"^(fig\w* = |_ = )?plot_\w+\(", source.strip()) and "#| eval: false" not in source:
            assert any("image/png" in o.get("data", {}) for o in outs), f"no figure stored under:\n{source}"


@pytest.mark.parametrize("nb_path", NOTEBOOKS, ids=lambda p: p.name)
def test_no_widget_stored(nb_path):
    "A saved widget is dead on the static site, and its state makes the site load a widget manager from a CDN."
    assert "widgets" not in json.loads(nb_path.read_text())["metadata"], "widget state stored"
    for source, outs in outputs(nb_path):
        assert not any("application/vnd.jupyter.widget-view+json" in o.get("data", {}) for o in outs), \
            f"a widget view stored under:\n{source}"


@pytest.mark.parametrize("module_name", exported_modules())
def test_public_functions_documented_and_shown(module_name):
    "Every public function has a docstring, docments for each parameter and its return, and a `show_doc` cell."
    from fastcore.docments import docments
    module = importlib.import_module(module_name)
    sources = "".join(src for nb in CHAPTERS for src, _ in outputs(nb))
    for name in module.__all__:
        obj = getattr(module, name)
        if not inspect.isfunction(obj): continue
        assert inspect.getdoc(obj), f"{module_name}.{name} has no docstring"
        params = inspect.signature(obj).parameters
        # fastcore's docments reads no comment after `*args` or `**kwargs`; for those, the source must have one
        starred = lambda k: re.search(rf"\*{{1,2}}{k}\s*,?\s*#\s*\S", inspect.getsource(obj))
        missing = [k for k, v in docments(obj, full=True).items() if k != "return" and v["docment"] is None
                   and not (params[k].kind in (params[k].VAR_POSITIONAL, params[k].VAR_KEYWORD) and starred(k))]
        assert not missing, f"{module_name}.{name} lacks docments for {missing}"
        assert docments(obj, full=True)["return"]["docment"], f"{module_name}.{name} lacks a return docment"
        assert f"show_doc({name})" in sources, f"no show_doc({name}) in the chapters"


def chapter_order():
    "{module name: the position of its chapter in the reading order}."
    order = {}
    for i, nb in enumerate(CHAPTERS):
        m = re.search(r"#\|\s*default_exp\s+([\w.]+)", nb.read_text())
        if m: order[m.group(1)] = i
    return order


def package_imports(module_file):
    "The specx_nb modules that a module imports, anywhere in it (inside functions too)."
    import ast
    found = set()
    for node in ast.walk(ast.parse(module_file.read_text())):
        if isinstance(node, ast.ImportFrom):
            name = "." * node.level + (node.module or "")
            if node.level or name.startswith("specx_nb"):
                found.add(name.lstrip(".").removeprefix("specx_nb").lstrip(".").split(".")[0])
        elif isinstance(node, ast.Import):
            found |= {a.name.split(".")[1] for a in node.names if a.name.startswith("specx_nb.")}
    return found - {""}


def module_of(nb_name):
    "The module a chapter exports, or None."
    m = re.search(r"#\|\s*default_exp\s+([\w.]+)", (ROOT / "nbs" / nb_name).read_text())
    return m and m.group(1)


def foundation(nb_name):
    "A chapter whose module uses no other module of the package: it may sit in the appendix and serve any chapter."
    module = module_of(nb_name)
    return bool(module) and not package_imports(ROOT / "specx_nb" / f"{module}.py")


def test_chapters_import_only_earlier_chapters():
    """A reader of chapter N meets no name from a later chapter: no module imports a later one, not even lazily.
    Foundations (the appendix) use no other module and may be imported anywhere."""
    order = chapter_order()
    foundations = {module_of(nb.name) for nb in CHAPTERS if foundation(nb.name)}
    later = [f"{m} imports {t}" for m, i in order.items()
             for t in package_imports(ROOT / "specx_nb" / f"{m}.py")
             if t in order and order[t] > i and t not in foundations]
    assert not later, later


def test_modules_stay_small():
    "One theme per module: none over 400 lines."
    long = {p.name: n for p in (ROOT / "specx_nb").glob("[a-z]*.py") if (n := len(p.read_text().splitlines())) > 400}
    assert not long, long


def test_few_exported_constants():
    "Tuning numbers are keyword defaults or private: at most 12 exported constants in the whole package."
    constants = [f"{m}.{n}" for m in exported_modules() for n in importlib.import_module(m).__all__ if n.isupper()]
    assert len(constants) <= 12, constants


def test_no_private_name_imported_across_modules():
    "Helpers that several modules need are public; nothing imports another module's private name."
    import ast
    private = []
    for path in (ROOT / "specx_nb").glob("[a-z]*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and (node.level or (node.module or "").startswith("specx_nb")):
                private += [f"{path.stem}: {a.name}" for a in node.names if a.name.startswith("_")]
    assert not private, private
