"""The documentation site: pages, API targets, docstrings, sources, and the reST converter."""

from __future__ import annotations

import importlib
import importlib.util
import inspect
import re
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
DOCS = REPO / "docs"


def _nav_pages() -> list[str]:
    text = (REPO / "mkdocs.yml").read_text()
    nav = text.split("\nnav:", 1)[1].split("\n\n", 1)[0]
    return re.findall(r":\s*(\S+\.md)\s*$", nav, flags=re.M)


def _api_modules() -> list[str]:
    return re.findall(r"^:::\s*(\S+)\s*$", (DOCS / "api.md").read_text(), flags=re.M)


def _ext(name: str):
    spec = importlib.util.spec_from_file_location(name, DOCS / "_ext" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _converter():
    return _ext("rst_to_md").rst_to_markdown


def test_every_page_is_in_the_nav_and_has_content():
    nav = _nav_pages()
    pages = sorted(str(p.relative_to(DOCS)) for p in DOCS.rglob("*.md"))
    assert set(nav) <= set(pages)  # a listed page that is missing fails the strict build
    # Pages not listed are added by the nav_extra hook, before "Python API".
    hook = _ext("nav_extra")
    config = {"nav": [{"Getting started": "index.md"}, {"Python API": "api.md"}],
              "docs_dir": str(DOCS)}
    completed = [next(iter(item.values())) for item in hook.on_config(config)["nav"]]
    assert sorted(completed) == pages
    assert completed[0] == "index.md" and completed[-1] == "api.md"
    for page in pages:
        text = (DOCS / page).read_text()
        assert text.startswith("# ")
        generated = text.count("\n::: ")  # an API section generated from docstrings
        assert len(text.split()) > 80 or generated >= 3, f"{page} is a placeholder"
        assert not re.search(r"\bTODO\b|\bTBD\b|coming soon|lorem ipsum", text, flags=re.I), page


def test_api_targets_import_and_public_callables_have_docstrings():
    modules = _api_modules()
    assert {"stsdetect.events", "stsdetect.geo", "stsdetect.tracks"} <= set(modules)
    for name in modules:
        module = importlib.import_module(name)
        assert inspect.getdoc(module), f"{name} has no module docstring"
        for attr in getattr(module, "__all__", []):
            obj = getattr(module, attr)
            if inspect.isfunction(obj) or inspect.isclass(obj):
                assert inspect.getdoc(obj), f"{name}.{attr} has no docstring"


@pytest.mark.parametrize("module", ["stsdetect.plot", "stsdetect.report", "stsdetect.webmap",
                                    "stsdetect.evidence"])
def test_figure_functions_have_numpydoc_sections(module):
    mod = importlib.import_module(module)
    for attr in mod.__all__:
        obj = getattr(mod, attr)
        if inspect.isfunction(obj) and inspect.signature(obj).parameters:
            doc = inspect.getdoc(obj)
            assert "Parameters\n----------" in doc and "Returns\n-------" in doc, attr
            for param in inspect.signature(obj).parameters:
                assert param in doc, f"{module}.{attr}: parameter {param} undocumented"


def test_method_page_cites_every_published_source():
    text = (DOCS / "method.md").read_text()
    for needle in ("Miller", "5:240", "500 m", "2 hours", "2 kn", "4 hours", "6 hours",
                   "12 hours", "Welch", "eabq2109", "Skylight", "ITU-R M.585", "ITU-R M.1371",
                   "445", "1996", "Natural Earth", "Reception-hole"):
        assert needle in text, needle


def test_limits_page_covers_the_known_limits():
    text = (DOCS / "limits.md").read_text().lower()
    for needle in ("coverage", "satellite", "spoofing", "class b", "approximate",
                   "anchorage", "pair trawler", "tug"):
        assert needle in text, needle


def test_ci_builds_the_docs_strictly():
    # CI runs README's test command; the strict build below runs in it only if the test extra
    # installs the docs tools, and CI must run exactly that command.
    import re

    test_extra = re.search(r"^test = \[(.*?)\]$", (REPO / "pyproject.toml").read_text(),
                           re.S | re.M).group(1)
    for tool in ("mkdocs", "mkdocs-material", "mkdocstrings"):
        assert tool in test_extra
    command = "pip install -e '.[test]' && python -m pytest -n auto"
    assert command in (REPO / ".ci" / "run").read_text().splitlines()
    assert command in (REPO / "README.md").read_text()


def test_coastline_source_is_credited():
    for page in ("method.md", "figures.md"):
        assert "public domain" in (DOCS / page).read_text()


# ---------------------------------------------------------------- reST -> Markdown extension
def test_roles_become_code_spans():
    convert = _converter()
    out = convert("See :func:`make_events`, :class:`~pandas.DataFrame` and :data:`X`.")
    assert out == "See `make_events`, `pandas.DataFrame` and `X`."


def test_simple_table_becomes_pipe_table():
    convert = _converter()
    text = "\n".join([
        "Intro.",
        "",
        "======  =====  ==========",
        "col     kind   meaning",
        "======  =====  ==========",
        "``a``   int    first line",
        "               continued",
        "b       kind_long :func:`f` here",
        "======  =====  ==========",
        "",
        "After.",
    ])
    out = convert(text).splitlines()
    assert "| col | kind | meaning |" in out
    assert "|---|---|---|" in out
    assert "| ``a`` | int | first line continued |" in out
    assert "| b | kind_long | `f` here |" in out  # overflow stays in its cell
    assert out[0] == "Intro." and out[-1] == "After."
    assert not any(line.startswith("===") for line in out)


def test_text_without_tables_is_unchanged():
    convert = _converter()
    text = "Parameters\n----------\nx : int\n    ``x`` = 1 ==> fine\n"
    assert convert(text) == text


def test_cli_reference_is_the_live_help(monkeypatch):
    hook = _ext("cli_help")
    page = "# Command line\n\n<!-- cli-help -->\n"
    try:
        from stsdetect.cli import build_parser
    except ModuleNotFoundError:
        build_parser = None
    out = hook.on_page_markdown(page, None, None, None)
    assert hook.MARKER not in out
    if build_parser is not None:
        import argparse

        sub = next(a for a in build_parser()._actions
                   if isinstance(a, argparse._SubParsersAction))
        for name in sub.choices:
            assert f"### `stsdetect {name}`" in out and f"usage: stsdetect {name}" in out
    monkeypatch.setitem(sys.modules, "stsdetect.cli", None)
    assert "no command-line module" in hook.on_page_markdown(page, None, None, None)
    assert hook.on_page_markdown("no marker", None, None, None) == "no marker"


def test_strict_build_passes(tmp_path):
    pytest.importorskip("mkdocs")
    pytest.importorskip("mkdocstrings")
    pytest.importorskip("material")
    result = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(tmp_path)],
        cwd=REPO, capture_output=True, text=True, timeout=300,
        env={**__import__("os").environ, "NO_MKDOCS_2_WARNING": "1"},
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "WARNING" not in result.stderr
    html = (tmp_path / "api" / "index.html").read_text()
    assert "plot_events_map" in html and "write_html_report" in html
    assert ":func:" not in html and "=====" not in html
