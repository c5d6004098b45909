"""A block that htmx asks for alone imports the macros it uses itself.

saas.htmx.render draws such a block on its own (jinja2_fragments), without the rest of its template: a
``{% from ... import row %}`` at the top of the template does not run, and the block fails with "'row' is
undefined". That broke the work-order list's filters and its 20-second refresh. Every block other than the
layout's page blocks (title, content, ...: drawn only as part of a whole page) may be asked for alone, so each
of them must import what it uses.
"""

from __future__ import annotations

from pathlib import Path

from jinja2 import Environment, nodes

TEMPLATES = Path(__file__).resolve().parents[1] / "templates"
PAGE_BLOCKS = {"title", "head", "body_class", "site", "header", "container", "content"}  # layouts/*.html


def _imported(node) -> set[str]:
    names = set()
    for imp in node.find_all((nodes.FromImport, nodes.Import)):
        if isinstance(imp, nodes.FromImport):
            names |= {n if isinstance(n, str) else n[1] for n in imp.names}
        else:
            names.add(imp.target)
    return names


def test_blocks_drawn_alone_import_their_own_macros():
    env = Environment(extensions=["jinja2.ext.i18n", "jinja2.ext.do"])
    missing = []
    for path in sorted(TEMPLATES.rglob("*.html")):
        tree = env.parse(path.read_text())
        top = set()
        for node in tree.body:  # the template's own imports, outside any block
            if isinstance(node, (nodes.FromImport, nodes.Import)):
                top |= _imported(nodes.Template([node]))
        for block in tree.find_all(nodes.Block):
            if block.name in PAGE_BLOCKS:
                continue
            used = {n.name for n in block.find_all(nodes.Name) if n.ctx == "load"}
            if lacking := (used & top) - _imported(block):
                missing.append(f"{path.relative_to(TEMPLATES)} block {block.name}: {sorted(lacking)}")
    assert not missing, missing
