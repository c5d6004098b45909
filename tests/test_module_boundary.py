"""The platform (saas/) does not depend on the company modules (tenants/): they import it, never the reverse.

Two places are allowed to: the app factory (saas/__init__.py), which registers the company modules, and the
platform admin (saas/admin/), which reads usage across companies. Anything else the platform needs from a
company module is registered by tenants.register (a signal such as saas.signup.services.company_created, a
counter such as saas.subscriptions.plans.count_households_with) or registered as a CLI command by
tenants/cli.py.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SAAS = ROOT / "saas"
ALLOWED = ("saas/__init__.py", "saas/admin/")


def _is_company_module(name: str | None) -> bool:
    return bool(name) and (name == "tenants" or name.startswith("tenants."))


def company_imports(source: str, filename: str = "<string>") -> list[tuple[int, str]]:
    """(line, module) of every import of a company module in ``source``, at any depth (functions included),
    and of importlib.import_module("tenants...") with a literal name."""
    found = []
    for node in ast.walk(ast.parse(source, filename)):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names if _is_company_module(alias.name)]
        elif isinstance(node, ast.ImportFrom):
            if node.level == 0 and _is_company_module(node.module):
                found.append((node.lineno, node.module))
        elif isinstance(node, ast.Call):
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)
            if (name in ("import_module", "__import__") and node.args and isinstance(node.args[0], ast.Constant)
                    and isinstance(node.args[0].value, str) and _is_company_module(node.args[0].value)):
                found.append((node.lineno, node.args[0].value))
    return found


def test_the_check_sees_every_spelling_of_an_import():
    source = ("import tenants.roster.models\nfrom tenants import access\nfrom tenants.roster import codes\n"
              "def f():\n    from tenants.work_orders.services import x\n"
              "import importlib\nimportlib.import_module('tenants.plan')\n"
              "import tenantsx\nfrom saas import tenancy\nfrom . import tenants\n")
    assert [module for _line, module in company_imports(source)] == [
        "tenants.roster.models", "tenants", "tenants.roster", "tenants.work_orders.services", "tenants.plan"]


def test_no_platform_module_imports_a_company_module():
    offenders = []
    for path in sorted(SAAS.rglob("*.py")):
        relative = path.relative_to(ROOT).as_posix()
        if relative == ALLOWED[0] or relative.startswith(ALLOWED[1:]):
            continue
        for line, module in company_imports(path.read_text(encoding="utf-8"), relative):
            offenders.append(f"{relative}:{line} imports {module}")
    assert not offenders, ("saas/ must not import company modules (tenants.*); register from tenants/ instead:\n"
                           + "\n".join(offenders))
