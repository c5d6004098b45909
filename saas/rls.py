"""PostgreSQL row-level security for company tables, used by migrations (the policies are schema).

Every company-scoped table gets ENABLE + FORCE ROW LEVEL SECURITY and one policy: a row is visible and
writable only when its company_id equals the transaction's ``app.company_id`` setting, or when the app has
entered the audited ``all_companies()`` context. FORCE makes the policy apply to the table owner too;
the app connects as a separate role that is neither owner nor superuser.
"""

from __future__ import annotations

POLICY = "company_isolation"

_PREDICATE = (
    "(current_setting('app.all_companies', true) = 'on' "
    "OR company_id = NULLIF(current_setting('app.company_id', true), '')::uuid)"
)


def enable(op, table: str) -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
    op.execute(f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY")
    op.execute(f"CREATE POLICY {POLICY} ON {table} USING {_PREDICATE} WITH CHECK {_PREDICATE}")


def disable(op, table: str) -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(f"DROP POLICY IF EXISTS {POLICY} ON {table}")
    op.execute(f"ALTER TABLE {table} NO FORCE ROW LEVEL SECURITY")
    op.execute(f"ALTER TABLE {table} DISABLE ROW LEVEL SECURITY")
