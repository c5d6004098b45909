"""World builders: one module per feature, each with build(app, world) -> {url_param_name: object_id}.

The `two_companies` fixture (tests/factories.py) always makes the base world: both companies, a user of every role,
a small roster and the owner's household (URL parameters household_id, community_id, building_id, member_id). On
top of it, it runs the builders the test asks for with the ``world`` marker:

    @pytest.mark.world()                        # the base world only (fastest)
    @pytest.mark.world("work_orders")           # + tests/world/work_orders.py and the builders it NEEDS
    @pytest.mark.world("all")                   # every builder: the url_map walks, which fill every route

A test without the marker gets every builder, as before the marker existed; a new test should ask for what it uses.
Each builder module may declare ``NEEDS = ("other_builder", ...)`` (run first) and ``PROVIDES = ("param", ...)``
(the URL parameters it adds, so ``builders_for_parameters`` can name the builder a route needs).
"""

from __future__ import annotations

import importlib
import pkgutil

MARKER = "world"
ALL = "all"


def names() -> list[str]:
    """Every builder module, in name order."""
    return sorted(m.name for m in pkgutil.iter_modules(__path__) if not m.name.startswith("_"))


def _module(name: str):
    if name not in names():
        raise LookupError(f"no world builder tests/world/{name}.py (have: {', '.join(names())})")
    return importlib.import_module(f"{__name__}.{name}")


def resolve(wanted) -> list[str]:
    """``wanted`` and everything they NEED, each once, a builder after the builders it needs."""
    if ALL in wanted:
        wanted = names()
    order: list[str] = []

    def visit(name: str, path: tuple = ()) -> None:
        if name in order:
            return
        if name in path:
            raise ValueError(f"world builders need each other in a circle: {' → '.join((*path, name))}")
        for needed in getattr(_module(name), "NEEDS", ()):
            visit(needed, (*path, name))
        order.append(name)

    for name in wanted:
        visit(name)
    return order


def selected(request) -> list[str]:
    """The builders a test asked for with @pytest.mark.world(...); every builder when it did not ask."""
    marker = request.node.get_closest_marker(MARKER)
    return resolve(names() if marker is None else marker.args)


def builders(request) -> list:
    return [_module(name).build for name in selected(request)]


def builders_for_parameters(parameters) -> list[str]:
    """The builders whose PROVIDES cover ``parameters`` (URL parameter names)."""
    return [name for name in names() if set(getattr(_module(name), "PROVIDES", ())) & set(parameters)]
