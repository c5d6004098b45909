"""The red/black list's arithmetic against hand-computed examples (saas/ratings/rules.py): shrinkage with tiny
samples, weights shared when a figure source is missing, grades at their thresholds, the lists' minimum sample."""

from __future__ import annotations

import pytest

from saas.ratings.rules import (
    compute,
    default_params,
    grade_of,
    list_for,
    platform_means,
    shrink,
    sum_figures,
)

PARAMS = default_params()


def owner_only(params=PARAMS):
    p = {**params, "components": {"owner": params["components"]["owner"]}}
    return p


def test_shrinkage_ten_fives_do_not_beat_three_hundred_4_6():
    # prior 10 at mean 3.5: (10×3.5 + 10×5) / 20 = 4.25 → (4.25−1)/4×100 = 81.25
    few = compute({"owner_ratings": {"ratings": 10, "rating_sum": 50}}, {"owner": 3.5}, owner_only())
    # (35 + 300×4.6) / 310 = 1415/310 = 4.5645… → 89.11
    many = compute({"owner_ratings": {"ratings": 300, "rating_sum": 1380}}, {"owner": 3.5}, owner_only())
    assert few.score == 81.2  # 81.25 rounded half-even in float: 81.2
    assert many.score == 89.1
    assert many.score > few.score
    assert (few.grade, many.grade) == ("AA", "AAA")


def test_a_single_rating_barely_moves_the_mean():
    # one 1-star rating: (35 + 1) / 11 = 3.2727 → 56.82; no ratings at all: the mean, 3.5 → 62.5
    assert compute({"owner_ratings": {"ratings": 1, "rating_sum": 1}}, {"owner": 3.5}, owner_only()).score == 56.8
    assert compute({"owner_ratings": {"ratings": 0, "rating_sum": 0}}, {"owner": 3.5}, owner_only()).score == 62.5
    assert shrink(5, 1, 3.5, 10) == pytest.approx(40 / 11)


def test_weights_of_a_missing_source_are_shared_in_proportion():
    means = {"owner": 3.5, "repair_rating": 4.0, "response": 0.8, "resolution": 0.8, "disclosures": 0.8,
             "objections": 0.8}
    figures = {
        "owner_ratings": {"ratings": 30, "rating_sum": 135},          # (35+135)/40 = 4.25 → 81.25
        "work_orders": {"repair_ratings": 10, "repair_rating_sum": 50,  # (40+50)/20 = 4.5 → 87.5
                        "response_due": 20, "response_on_time": 20,      # (16+20)/40 = 0.9 → 90
                        "resolution_due": 0, "resolution_on_time": 0},   # the mean: 80
    }
    result = compute(figures, means, PARAMS)
    # disclosures (10 + 5) missing: the other 85 points of weight are the whole.
    expected = (50 * 81.25 + 15 * 87.5 + 10 * 90 + 10 * 80) / 85
    assert result.score == round(expected, 1) == 83.2  # 7075 / 85
    assert set(result.parts) == {"owner", "repair_rating", "response", "resolution"}
    assert result.parts["owner"]["weight"] == round(50 / 85 * 100, 1)
    # With disclosures present (all on time, 10 due: (16+10)/30 = 0.8667 → 86.67; no objections: 80):
    figures["disclosures"] = {"disclosures_due": 10, "disclosures_on_time": 10, "objections_due": 0,
                              "objections_answered_on_time": 0}
    full = compute(figures, means, PARAMS)
    assert full.score == round((50 * 81.25 + 15 * 87.5 + 10 * 90 + 10 * 80 + 10 * 26 / 30 * 100 + 5 * 80) / 100, 1)


@pytest.mark.parametrize("score,grade", [(100, "AAA"), (85, "AAA"), (84.9, "AA"), (80, "AA"), (79.9, "A"),
                                         (70, "A"), (69.9, "B"), (60, "B"), (59.9, "C"), (0, "C")])
def test_grades_at_their_thresholds(score, grade):
    assert grade_of(score, PARAMS) == grade


def test_lists_need_the_minimum_sample():
    good = compute({"owner_ratings": {"ratings": 19, "rating_sum": 95}}, {"owner": 4.5}, owner_only())
    assert good.grade in ("AAA", "AA") and list_for(good, PARAMS) is None  # 19 < 20
    good = compute({"owner_ratings": {"ratings": 20, "rating_sum": 100}}, {"owner": 4.5}, owner_only())
    assert list_for(good, PARAMS) == "red"
    bad = compute({"owner_ratings": {"ratings": 40, "rating_sum": 60}}, {"owner": 3.5}, owner_only())
    # (35 + 60) / 50 = 1.9 → 22.5: C
    assert (bad.score, bad.grade, list_for(bad, PARAMS)) == (22.5, "C", "black")
    middling = compute({"owner_ratings": {"ratings": 40, "rating_sum": 160}}, {"owner": 3.5}, owner_only())
    # (35 + 160) / 50 = 3.9 → 72.5: A, on neither list
    assert middling.score == 72.5 and middling.grade == "A" and list_for(middling, PARAMS) is None


def test_platform_means_and_sums():
    rows = [{"owner_ratings": {"ratings": 2, "rating_sum": 8}, "work_orders": None},
            {"owner_ratings": {"ratings": 1, "rating_sum": 1},
             "work_orders": {"response_due": 4, "response_on_time": 3}}]
    means = platform_means(rows, PARAMS)
    assert means["owner"] == 3.0
    assert means["response"] == 0.75
    assert means["disclosures"] == PARAMS["fallback_mean"]["rate"]  # no figures anywhere: the fallback
    assert sum_figures(rows) == {"owner_ratings": {"ratings": 3, "rating_sum": 9},
                                 "work_orders": {"response_due": 4, "response_on_time": 3}}
