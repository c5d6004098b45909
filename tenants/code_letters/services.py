"""Household codes: give every household one, regenerate them, record that notices were printed.

Codes are unique per company (index uq_households_code, over deleted rows too). New codes are checked
against the company's existing ones before writing; a collision that still slips in (two admins at the same
moment) fails the commit, which is retried with fresh codes.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from saas.audit import record
from saas.errors import ServiceError
from saas.extensions import db
from saas.i18n import _l
from saas.models import Company, User
from saas.tenancy import utcnow
from tenants.roster import codes
from tenants.roster.models import Building, Household

ATTEMPTS = 5
ROUNDS = 20  # rounds of fresh candidates before giving up: with 31^8 codes, more than 2 means a broken generator


class CodeError(ServiceError):
    """Household codes could not be given (no free code found, or a collision that kept recurring)."""


def _fresh_codes(n: int) -> list[str]:
    """n new codes, distinct from each other and from every code the company has (deleted rows included)."""
    chosen: set[str] = set()
    for _round in range(ROUNDS):
        if len(chosen) >= n:
            break
        candidates = {codes.generate_household_code() for _ in range(n - len(chosen))} - chosen
        taken = set(db.session.scalars(
            select(Household.household_code).where(Household.household_code.in_(candidates))))
        chosen |= candidates - taken
    if len(chosen) < n:
        raise CodeError(_l("New codes could not be made just now. Please try again."))
    return list(chosen)


def _with_retries(write: Callable[[], object]):
    for attempt in range(ATTEMPTS):
        try:
            result = write()
            db.session.commit()
            return result
        except CodeError:
            db.session.rollback()
            raise
        except IntegrityError:
            db.session.rollback()
            if attempt == ATTEMPTS - 1:
                raise CodeError(_l("New codes could not be saved just now. Please try again.")) from None
    return None


def _building_households(building: Building) -> list[Household]:
    return list(db.session.scalars(
        select(Household).where(Household.building_id == building.id, Household.live())))


def assign_missing_codes(building: Building, *, actor: User) -> int:
    """Give a code to every live household of the building that has none (before printing its notices)."""
    def write() -> int:
        missing = [h for h in _building_households(building) if not h.household_code]
        if not missing:
            return 0
        for household, code in zip(missing, _fresh_codes(len(missing)), strict=True):
            household.household_code = code
        record("household.code_assign", actor=actor, object_type="building", object_id=building.id,
               object_label=building.label, changes={"households": [None, len(missing)]})
        db.session.flush()
        return len(missing)

    return _with_retries(write)


def regenerate(households: Sequence[Household], *, actor: User) -> int:
    """New codes for these households; their old codes stop working at once. Owners already linked stay."""
    ids = [h.id for h in households]

    def write() -> int:
        rows = list(db.session.scalars(select(Household).where(Household.id.in_(ids))))
        for household, code in zip(rows, _fresh_codes(len(rows)), strict=True):
            household.household_code = code
            record("household.code_regenerate", actor=actor, object_type="household", object_id=household.id,
                   object_label=household.label)
        db.session.flush()
        return len(rows)

    return _with_retries(write)


def regenerate_building(building: Building, *, actor: User) -> int:
    return regenerate(_building_households(building), actor=actor)


def mark_notices_printed(company: Company) -> None:
    """The onboarding checklist's "print household notices" step; kept at the first printing."""
    if company.notices_printed_at is None:
        company.notices_printed_at = utcnow()
        db.session.commit()
