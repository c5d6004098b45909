"""The published formula: weights, prior, thresholds, minimum sample and expiry (versioned in RatingRules), and the
pure arithmetic of a score. Pure functions here, so the tests check them against hand-computed examples.

A component is an average or a rate, shrunk toward the platform mean by a prior weight (a Bayesian average):

    shrunk = (prior_weight × platform_mean + sum) / (prior_weight + count)

so ten 5-star ratings (prior 10, mean 3.5: 4.25) do not beat three hundred 4.6s (4.56). Stars (1–5) become
0–100 as (shrunk − 1) / 4 × 100, rates as shrunk × 100. The score is the weighted mean of the components; a
component whose figure source is missing (not connected yet) is left out and its weight shared among the others
in proportion, which the rules page says."""

from __future__ import annotations

import copy
from dataclasses import dataclass

from sqlalchemy import select

from saas.extensions import db
from saas.i18n import _l

OWNER = "owner_ratings"  # the figures key of the owner ratings themselves (always present)

DEFAULT_PARAMS: dict = {
    "components": {
        "owner": {"weight": 50, "kind": "stars", "source": OWNER, "count": "ratings", "sum": "rating_sum"},
        "repair_rating": {"weight": 15, "kind": "stars", "source": "work_orders", "count": "repair_ratings",
                          "sum": "repair_rating_sum"},
        "response": {"weight": 10, "kind": "rate", "source": "work_orders", "count": "response_due",
                     "sum": "response_on_time"},
        "resolution": {"weight": 10, "kind": "rate", "source": "work_orders", "count": "resolution_due",
                       "sum": "resolution_on_time"},
        "disclosures": {"weight": 10, "kind": "rate", "source": "disclosures", "count": "disclosures_due",
                        "sum": "disclosures_on_time"},
        "objections": {"weight": 5, "kind": "rate", "source": "disclosures", "count": "objections_due",
                       "sum": "objections_answered_on_time"},
    },
    # How many imagined ratings (or jobs, or disclosures) at the platform mean each average starts with.
    "prior_weight": {"stars": 10, "rate": 20},
    # The platform mean when the platform has no figures of a kind yet.
    "fallback_mean": {"stars": 3.5, "rate": 0.8},
    "grades": [["AAA", 85], ["AA", 80], ["A", 70], ["B", 60], ["C", 0]],
    "red_grades": ["AAA", "AA"],
    "black_grades": ["C"],
    "min_sample": 20,          # owner ratings in the window, for either list
    "window_quarters": 4,      # the score reads this quarter and the three before
    "expiry_months": 12,
    "min_owner_days": 30,      # bound to a household this long before rating
    "appeal_working_days": 15,
}

COMPONENT_LABELS = {
    "owner": _l("Owner ratings"),
    "repair_rating": _l("Repair ratings"),
    "response": _l("Repairs answered on time"),
    "resolution": _l("Repairs finished on time"),
    "disclosures": _l("Fee disclosures published on time"),
    "objections": _l("Objections answered on time"),
}


def default_params() -> dict:
    return copy.deepcopy(DEFAULT_PARAMS)


def current_rules():
    """The newest published RatingRules, or None before the first is published (the defaults apply as version 1)."""
    from saas.ratings.models import RatingRules

    return db.session.execute(select(RatingRules).order_by(RatingRules.version.desc()).limit(1)).scalar_one_or_none()


def current_params() -> tuple[int, dict]:
    rules = current_rules()
    return (rules.version, rules.params) if rules else (1, default_params())


def ensure_rules():
    """The current rules row, publishing the defaults as version 1 the first time (the job and the admin call it)."""
    from saas.ratings.models import RatingRules

    rules = current_rules()
    if rules is None:
        rules = RatingRules(version=1, params=default_params(), note="")
        db.session.add(rules)
        db.session.flush()
    return rules


# --- the arithmetic --------------------------------------------------------------------------------------------


def shrink(total: float, count: float, mean: float, prior_weight: float) -> float:
    return (prior_weight * mean + total) / (prior_weight + count)


def to_points(kind: str, value: float) -> float:
    return (value - 1) / 4 * 100 if kind == "stars" else value * 100


def grade_of(score: float, params: dict) -> str:
    for grade, floor in params["grades"]:
        if score >= floor:
            return grade
    return params["grades"][-1][0]


@dataclass
class Score:
    score: float
    grade: str
    sample_size: int
    parts: dict  # component → {"value": 0–100, "weight": effective weight in %, "count": n, "raw": shrunk}


def sum_figures(quarters: list[dict]) -> dict:
    """Add up several quarters' figures, source by source (a source missing from every quarter stays missing)."""
    out: dict = {}
    for figures in quarters:
        for source, values in (figures or {}).items():
            if values is None:
                continue
            bucket = out.setdefault(source, {})
            for key, value in values.items():
                bucket[key] = bucket.get(key, 0) + (value or 0)
    return out


def platform_means(all_figures: list[dict], params: dict) -> dict:
    """component → the platform mean (stars or rate) over every company's figures; the fallback when none."""
    totals = sum_figures(all_figures)
    means = {}
    for name, comp in params["components"].items():
        values = totals.get(comp["source"]) or {}
        count = values.get(comp["count"], 0)
        means[name] = values.get(comp["sum"], 0) / count if count else params["fallback_mean"][comp["kind"]]
    return means


def compute(figures: dict, means: dict, params: dict) -> Score:
    """The score of one company from its figures (summed over the window), the platform means and the rules."""
    present = {name: comp for name, comp in params["components"].items() if figures.get(comp["source"]) is not None}
    total_weight = sum(comp["weight"] for comp in present.values()) or 1
    parts, score = {}, 0.0
    for name, comp in present.items():
        values = figures[comp["source"]]
        count = values.get(comp["count"], 0) or 0
        raw = shrink(values.get(comp["sum"], 0) or 0, count, means[name], params["prior_weight"][comp["kind"]])
        points = max(0.0, min(100.0, to_points(comp["kind"], raw)))
        weight = comp["weight"] / total_weight
        score += weight * points
        parts[name] = {"value": round(points, 1), "weight": round(weight * 100, 1), "count": count,
                       "raw": round(raw, 3)}
    score = round(score, 1)
    sample = int((figures.get(OWNER) or {}).get("ratings", 0) or 0)
    return Score(score=score, grade=grade_of(score, params), sample_size=sample, parts=parts)


def list_for(result: Score, params: dict) -> str | None:
    """"red", "black" or None for a computed score (a recorded violation lists on black regardless)."""
    if result.sample_size < params["min_sample"]:
        return None
    if result.grade in params["red_grades"]:
        return "red"
    if result.grade in params["black_grades"]:
        return "black"
    return None
