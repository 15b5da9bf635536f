"""Griffe extension for the API pages: render the reST bits of numpydoc docstrings as Markdown.

The docstrings follow numpydoc, whose prose is reStructuredText: Sphinx roles such as
``:func:`make_events``` and "simple tables" framed by ``=====`` rules. mkdocstrings renders
docstrings as Markdown, so this extension rewrites, in every docstring, each role into a code
span and each simple table into a Markdown pipe table. The source docstrings are unchanged.
"""

from __future__ import annotations

import itertools
import re

try:
    import griffe
except ImportError:  # only the docs build needs griffe; the converter is plain Python
    griffe = None

_ROLE = re.compile(r":(?:py:)?(?:func|class|data|mod|meth|attr|obj|exc|const|ref|term):"
                   r"`~?([^`]+)`")
_RULE = re.compile(r"^=+( +=+)*\s*$")


def _columns(rule: str) -> list[tuple[int, int]]:
    return [(m.start(), m.end()) for m in re.finditer(r"=+", rule)]


def _cells(line: str, cols: list[tuple[int, int]]) -> list[str]:
    """Split a row at the column starts; text overflowing a boundary stays in its cell."""
    bounds = [0]
    for start, _ in cols[1:]:
        cut = max(start, bounds[-1])
        while 0 < cut < len(line) and line[cut - 1] != " " and line[cut] != " ":
            cut += 1
        bounds.append(cut)
    bounds.append(len(line))
    return [_ROLE.sub(r"`\1`", line[a:b]).strip() for a, b in itertools.pairwise(bounds)]


def _table(lines: list[str], cols: list[tuple[int, int]]) -> list[str]:
    """Markdown rows for the lines between the rules of one simple table."""
    header, body = [], []
    seen_rule = False
    for line in lines:
        if _RULE.match(line):
            seen_rule = True
            continue
        cells = _cells(line, cols)
        target = body if seen_rule else header
        if target and not cells[0]:  # continuation line: extend the previous row
            target[-1] = [f"{a} {b}".strip() for a, b in zip(target[-1], cells, strict=True)]
        else:
            target.append(cells)
    rows = header + body
    if not header:
        header = [[""] * len(cols)]
        rows = header + body

    def fmt(cells):
        return "| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |"

    out = [fmt(header[0]), "|" + "---|" * len(cols)]
    out += [fmt(r) for r in rows[1:]]
    return out


def rst_to_markdown(text: str) -> str:
    """Rewrite Sphinx roles and reST simple tables of a docstring as Markdown."""
    lines = text.split("\n")
    out: list[str] = []
    i = 0
    while i < len(lines):
        if _RULE.match(lines[i]) and len(_columns(lines[i])) >= 2:
            cols = _columns(lines[i])
            # A simple table: top rule, header, rule, body, bottom rule.
            j = i + 1
            rules = 1
            while j < len(lines) and rules < 3:
                if _RULE.match(lines[j]):
                    rules += 1
                elif not lines[j].strip():
                    break
                j += 1
            if rules == 3:
                out += ["", *_table(lines[i + 1:j - 1], cols), ""]
                i = j
                continue
        out.append(_ROLE.sub(r"`\1`", lines[i]))
        i += 1
    return "\n".join(out)


if griffe is not None:

    class RstToMarkdown(griffe.Extension):
        """Apply :func:`rst_to_markdown` to every docstring griffe loads."""

        def on_instance(self, *, obj, **kwargs) -> None:
            if obj.docstring is not None:
                obj.docstring.value = rst_to_markdown(obj.docstring.value)
