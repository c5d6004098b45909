"""The audit logs speak in phrases: every action, object and field a service records has one
(tenants/audit/labels.py), and the pages show the phrases, never the codes.

The code base is read for what it records: every ``record(...)``, ``PlatformAuditEvent(...)`` and the wrappers
around them, so a new action code without a phrase fails here rather than reaching an admin as ``thing.done``.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CODE = re.compile(r"^[a-z][a-z_]*\.[a-z][a-z_]*$")

# Where each recording function takes its action code: a positional index or a keyword.
ACTION_SLOTS = {"record": (0, "action"), "_audit_login": (1, "action"), "_platform_audit": (1, "action",
                                                                                           "company_action"),
                "PlatformAuditEvent": ("action",)}
RECORDERS = set(ACTION_SLOTS)


def _modules():
    for folder in ("saas", "tenants"):
        for path in sorted((ROOT / folder).rglob("*.py")):
            yield path, ast.parse(path.read_text(encoding="utf-8"), filename=str(path))


def _name(call: ast.Call) -> str:
    func = call.func
    return func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")


def _template(node: ast.JoinedStr) -> str:
    return "".join(v.value if isinstance(v, ast.Constant) else "{}" for v in node.values)


def _expand_template(template: str) -> list[str]:
    """The codes an f-string action can produce; a new f-string must be taught here."""
    from tenants.work_orders.states import Action

    known = {
        "work_order.{}": [f"work_order.{a.value}" for a in Action],
        "{}.delete": [f"{t}.delete" for t in SOFT_DELETED],
        "sla_{}": [],  # a field, not an action (checked with the fields)
    }
    assert template in known, f"an audit action built as f\"{template}\": teach tests/test_audit_labels.py its codes"
    return known[template]


def _strings(node) -> tuple[set[str], set[str], bool]:
    """(constant strings, f-string templates, whether something else: a variable) of an argument."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return {node.value}, set(), False
    if isinstance(node, ast.JoinedStr):
        return set(), {_template(node)}, False
    if isinstance(node, ast.IfExp):
        a, b = _strings(node.body), _strings(node.orelse)
        return a[0] | b[0], a[1] | b[1], a[2] or b[2]
    return set(), set(), True


def _slot_args(call: ast.Call):
    for slot in ACTION_SLOTS[_name(call)]:
        if isinstance(slot, int):
            if len(call.args) > slot:
                yield call.args[slot]
        else:
            yield from (k.value for k in call.keywords if k.arg == slot)


def recorded():
    """(action codes, object types) recorded anywhere in saas/ and tenants/."""
    literal, templates, dynamic_modules, object_types = set(), set(), [], set()
    for path, tree in _modules():
        if path.name == "audit.py" and path.parent.name == "saas":
            continue  # record() itself
        module_constants = {n.value for n in ast.walk(tree) if isinstance(n, ast.Constant) and isinstance(n.value, str)
                            and CODE.match(n.value)}
        for call in (n for n in ast.walk(tree) if isinstance(n, ast.Call) and _name(n) in RECORDERS):
            for arg in _slot_args(call):
                codes, fstrings, dynamic = _strings(arg)
                literal |= codes
                templates |= fstrings
                if dynamic:
                    dynamic_modules.append((path, module_constants))
            for keyword in (k for k in call.keywords if k.arg == "object_type"):
                codes, _, _ = _strings(keyword.value)
                object_types |= codes
    # An action passed in a variable (the sign-in outcome, a Stripe handler's result) is one of the code-like
    # strings of its module with a prefix some literal action uses.
    prefixes = {code.split(".")[0] for code in literal}
    for _path, constants in dynamic_modules:
        literal |= {c for c in constants if c.split(".")[0] in prefixes}
    for template in templates:
        literal |= set(_expand_template(template))
    return literal, object_types | SOFT_DELETED


SOFT_DELETED = {"community", "building", "household"}  # tenants/roster/services.py _soft_delete(obj, actor, type)


def test_the_scan_finds_the_actions_it_should():
    actions, object_types = recorded()
    # A few of each recording path, so a broken scan cannot pass by finding nothing.
    assert {"auth.login", "auth.locked", "household.delete", "work_order.start", "steward.unassign",
            "subscription.activated", "platform.suspended", "company.suspended", "company.signup"} <= actions
    assert {"household", "work_order", "company", "repair_point"} <= object_types
    assert len(actions) > 60


def test_every_recorded_action_has_a_phrase():
    from tenants.audit import labels

    actions, _ = recorded()
    missing = sorted(actions - set(labels.ACTIONS))
    assert not missing, f"give these audit actions a phrase in tenants/audit/labels.py ACTIONS: {missing}"


def test_every_recorded_object_type_has_a_phrase():
    from tenants.audit import labels

    _, object_types = recorded()
    missing = sorted(object_types - set(labels.OBJECT_TYPES))
    assert not missing, f"give these object types a phrase in tenants/audit/labels.py OBJECT_TYPES: {missing}"


def _recorded_fields() -> set[str]:
    """Keys of the dicts services hand to the audit log: change dicts, and the snapshots diffed into them."""
    fields = set()

    def keys(node):
        if isinstance(node, ast.Dict):
            for k, v in zip(node.keys, node.values, strict=True):
                if isinstance(k, ast.Constant) and isinstance(k.value, str):
                    fields.add(k.value)
                if k is None or isinstance(v, ast.Dict):
                    keys(v)
        elif isinstance(node, ast.DictComp):
            pass
        elif isinstance(node, ast.Call) and _name(node) == "diff":
            for arg in node.args:
                keys(arg)

    for _path, tree in _modules():
        functions = {f.name: f for f in ast.walk(tree) if isinstance(f, ast.FunctionDef)}
        for function in functions.values():
            calls = [n for n in ast.walk(function) if isinstance(n, ast.Call) and _name(n) in RECORDERS]
            if not calls:
                continue
            for call in calls:
                for keyword in call.keywords:
                    if keyword.arg in ("changes", "details"):
                        keys(keyword.value)
            # Snapshots and diffs in the same function (before = {...}; diff(before, {...}); changes["x"] = ...).
            for node in ast.walk(function):
                if isinstance(node, ast.Assign) and any(
                        isinstance(t, ast.Name) and t.id in ("before", "after") for t in node.targets):
                    keys(node.value)
                if isinstance(node, ast.Call) and _name(node) == "diff":
                    keys(node)
                if isinstance(node, ast.Subscript) and isinstance(node.ctx, ast.Store) \
                        and getattr(node.value, "id", "") == "changes" and isinstance(node.slice, ast.Constant):
                    fields.add(node.slice.value)
        for name, function in functions.items():
            if name.endswith("snapshot") or name == "as_dict":
                for node in ast.walk(function):
                    if isinstance(node, ast.Return):
                        keys(node.value)
    from tenants.work_orders.models import Priority

    return (fields | {f"sla_{p.value}" for p in Priority}) - {"changes"}


def test_every_recorded_field_has_a_phrase():
    from tenants.audit import labels

    fields = _recorded_fields()
    assert {"status", "occupancy", "owner_name", "reference", "new_account", "steward_capacity", "photo",
            "technicians", "day_start"} <= fields
    missing = sorted(fields - set(labels.FIELDS))
    assert not missing, f"give these audit fields a phrase in tenants/audit/labels.py FIELDS: {missing}"


# --- phrases ---------------------------------------------------------------------------------------------------


def test_values_are_shown_as_their_labels(app):
    from tenants.audit import labels

    with app.test_request_context(headers={"Accept-Language": "zh-CN"}):
        from flask_babel import force_locale

        with force_locale("zh_CN"):
            assert labels.change_line("status", ["accepted", "in_progress"], "work_order") == "状态：已接单 → 维修中"
            assert labels.change_line("status", ["trialing", "active"], "company") == "订阅状态：免费试用 → 已开通"
            assert labels.change_line("new_account", True, "company") == "新账号：是"
            assert labels.change_line("role", ["steward", None], "membership") == "角色：管家 → 无"
            assert labels.change_line("occupancy", [None, "vacant"], "household") == "入住状态：空置"
            assert labels.change_line("sla_urgent", [[30, 240], [60, 480]], "work_order_category") == \
                "紧急工单时限：30 分钟内接单，4 小时内完成 → 1 小时内接单，8 小时内完成"
            assert labels.change_line("trial_ends_at", [None, "2026-06-30T15:59:59+00:00"], "company") == \
                "试用到期：2026-06-30 23:59"
            assert labels.action_phrase("work_order.start") == "开始维修"
            assert labels.action_phrase("auth.login") == "登录"


def test_an_unknown_code_is_shown_as_words_never_bare(app):
    from tenants.audit import labels

    with app.test_request_context():
        assert labels.action_phrase("repair_point.melted_down") == "Repair point melted down"
        assert labels.object_phrase("space_station") == "Space station"
        assert labels.change_line("warp_factor", [1, 9], "space_station") == "Warp factor: 1 → 9"


# --- the pages -------------------------------------------------------------------------------------------------

CODES_SEEN_BEFORE = ("auth.login", "work_order.start", "work_order.accept", "in_progress", "company.signup",
                     "new_account", "True", "object_label", "household.update")


def _visible(response) -> str:
    """The page's text as a person reads it (attribute values such as <option value="…"> left out)."""
    html = response.get_data(as_text=True)
    html = re.sub(r"<(script|style)\b.*?</\1>", " ", html, flags=re.S)
    return re.sub(r"<[^>]+>", " ", html)


@pytest.fixture
def started_job(app, two_companies, login_as):
    """Company A's job accepted and started by its technician; the admin then reads in Chinese."""
    a, _ = two_companies
    technician = login_as(a.technician)
    for action in ("accept", "start"):
        response = technician.post(f"/c/{a.company.slug}/work-orders/{a.ids['order_id']}/actions/{action}")
        assert response.status_code == 303, response.get_data(as_text=True)[:500]
    admin = login_as(a.admin)
    admin.get("/lang/zh_CN")
    return a, admin


def test_the_company_audit_log_shows_phrases_not_codes(started_job):
    a, admin = started_job
    # The list alone (the filter's options name every action anyway), then the whole page for codes.
    events = _visible(admin.get(f"/c/{a.company.slug}/audit", headers={"HX-Request": "true",
                                                                       "HX-Target": "audit-results"}))
    for phrase in ("开始维修", "状态：已接单 → 维修中", "维修工接单", "登录", "工单 · WO-"):
        assert phrase in events
    text = _visible(admin.get(f"/c/{a.company.slug}/audit"))
    for code in CODES_SEEN_BEFORE:
        assert code not in text


def test_the_dashboard_recent_activity_shows_phrases_not_codes(started_job):
    a, admin = started_job
    text = _visible(admin.get(f"/c/{a.company.slug}/"))
    assert "开始维修" in text and "状态：已接单 → 维修中" in text
    for code in CODES_SEEN_BEFORE:
        assert code not in text


def test_the_audit_filters_list_chinese_names(started_job):
    a, admin = started_job
    html = admin.get(f"/c/{a.company.slug}/audit").get_data(as_text=True)
    assert re.search(r'<option value="household"\s*>房屋</option>', html)
    assert re.search(r'<option value="work_order.start"\s*>开始维修</option>', html)
    for english in (">household<", ">community<", ">work_order<", 'placeholder="household.update"'):
        assert english not in html
    # Filtering by an action still works, with the whole family of a prefix too.
    only_start = _visible(admin.get(f"/c/{a.company.slug}/audit?action=work_order.start",
                                    headers={"HX-Request": "true", "HX-Target": "audit-results"}))
    assert "开始维修" in only_start and "维修工接单" not in only_start


def test_a_household_history_shows_phrases(app, two_companies, login_as):
    a, _ = two_companies
    admin = login_as(a.admin)
    household = a.ids["household_id"]
    admin.post(f"/c/{a.company.slug}/households/{household}/delete")
    admin.post(f"/c/{a.company.slug}/households/{household}/restore")
    admin.get("/lang/zh_CN")
    text = _visible(admin.get(f"/c/{a.company.slug}/households/{household}"))
    assert "删除房屋" in text and "恢复房屋" in text and "household.delete" not in text


def test_the_platform_audit_log_shows_phrases_not_codes(app, two_companies, make_user, login_as):
    from saas.extensions import db
    from saas.models import PlatformAuditEvent

    a, _ = two_companies
    platform_admin = make_user("平台管理员", platform_admin=True)
    with app.app_context():
        db.session.add(PlatformAuditEvent(actor_id=a.admin.id, actor_name="甲管理员", action="company.signup",
                                          company_id=a.company.id,
                                          details={"slug": a.company.slug, "name": a.company.name,
                                                   "source": "signup", "new_account": True,
                                                   "trial_ends_at": "2026-06-30T15:59:59+00:00"}))
        db.session.add(PlatformAuditEvent(actor_id=platform_admin.id, actor_name="平台管理员",
                                          action="company.plan_activated", company_id=a.company.id,
                                          details={"plan": "basic", "reference": "ICBC-1", "months": 12,
                                                   "changes": {"status": ["trialing", "active"]}}))
        db.session.commit()
    client = login_as(platform_admin)
    client.get("/lang/zh_CN")
    for url in ("/admin/audit", f"/admin/companies/{a.company.id}"):
        text = _visible(client.get(url))
        for phrase in ("公司注册", "新账号：是", "注册方式：注册页面", "试用到期：2026-06-30 23:59",
                       "开通套餐（对公转账）", "订阅状态：免费试用 → 已开通", "转账凭证号：ICBC-1"):
            assert phrase in text, (url, phrase)
        for code in ("company.signup", "company.plan_activated", "new_account", "True", "trialing"):
            assert code not in text, (url, code)
    html = client.get("/admin/audit").get_data(as_text=True)
    assert re.search(r'<option value="company.signup"\s*>公司注册</option>', html)
