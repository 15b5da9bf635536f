"""MkDocs hook: put the live ``--help`` of every ``stsdetect`` subcommand into ``cli.md``.

The marker ``<!-- cli-help -->`` in a page is replaced by one section per subcommand with its
``--help`` text, taken from ``stsdetect.cli.build_parser()`` at build time, so the reference
cannot drift from the code. Where the package has no ``stsdetect.cli`` module the marker is
replaced by a sentence saying so; any other import error fails the build.
"""

from __future__ import annotations

import argparse
import os

MARKER = "<!-- cli-help -->"


def _fence(text: str) -> str:
    return "```text\n" + text.rstrip() + "\n```\n"


def cli_reference() -> str:
    """Markdown with the top-level and every subcommand's ``--help``."""
    try:
        from stsdetect.cli import build_parser
    except ModuleNotFoundError as exc:
        if exc.name != "stsdetect.cli":
            raise
        return "*This version of stsdetect has no command-line module.*\n"
    old = os.environ.get("COLUMNS")
    os.environ["COLUMNS"] = "100"  # argparse wraps help to the terminal width
    try:
        parser = build_parser()
        parts = ["### `stsdetect`\n", _fence(parser.format_help())]
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                for name, sub in action.choices.items():
                    parts += [f"### `stsdetect {name}`\n", _fence(sub.format_help())]
    finally:
        if old is None:
            os.environ.pop("COLUMNS", None)
        else:
            os.environ["COLUMNS"] = old
    return "\n".join(parts)


def on_page_markdown(markdown: str, page, config, files) -> str:
    """MkDocs event: expand the marker."""
    if MARKER in markdown:
        markdown = markdown.replace(MARKER, cli_reference())
    return markdown
