"""MkDocs hook: pages in ``docs/`` that the ``nav`` of ``mkdocs.yml`` does not list are added.

Several people write pages for this site; a page added without touching ``mkdocs.yml`` should
still appear in the navigation rather than be built unreachable. Each unlisted top-level
``*.md`` page is inserted before the "Python API" entry (or at the end), titled by its first
``# `` heading, in file-name order.
"""

from __future__ import annotations

from pathlib import Path


def _title(path: Path) -> str:
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith("# "):
            return line[2:].strip()
    return path.stem.replace("_", " ").capitalize()


def extra_pages(nav: list, docs_dir: Path) -> list[dict]:
    """Nav entries ``{title: file}`` for top-level pages of ``docs_dir`` not in ``nav``."""
    listed = set()
    for item in nav:
        if isinstance(item, dict):
            listed.update(v for v in item.values() if isinstance(v, str))
        elif isinstance(item, str):
            listed.add(item)
    return [{_title(p): p.name} for p in sorted(docs_dir.glob("*.md")) if p.name not in listed]


def on_config(config):
    """MkDocs event: complete the nav."""
    nav = config.get("nav")
    if not nav:
        return config  # no explicit nav: MkDocs lists every page itself
    extra = extra_pages(nav, Path(config["docs_dir"]))
    keys = [next(iter(item)) if isinstance(item, dict) else item for item in nav]
    at = keys.index("Python API") if "Python API" in keys else len(nav)
    config["nav"] = nav[:at] + extra + nav[at:]
    return config
