"""Priority rules: parsing and refusing rules, applying them, explanations, clusters."""

from __future__ import annotations

import tomllib
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from vru.domain.places import priority_rules as pr
from vru.domain.places.weights import from_neighbours

RULES_DIR = Path(__file__).resolve().parents[3] / "src" / "vru" / "reference" / "priority_rules"

RULE = """
name = "test-rule"
title = "Test rule"
description = "For tests."

[analysis]
measure = "violence_against_the_person"
geography = "ward"

[floors]
min_population = 1000
min_count = 20

[criteria.rise]
kind = "change"
direction = "rising"

[criteria.fall]
kind = "change"
direction = "falling"

[criteria.emerging]
kind = "emerging"
categories = ["new hot spot", "intensifying hot spot"]

[criteria.deprived]
kind = "deprivation"
most_deprived_share = 0.2

[rising]
any = ["rise", "emerging"]
all = ["deprived"]

[falling]
any = ["fall"]
"""


def rule(text: str = RULE) -> pr.PriorityRule:
    return pr.parse_rule(tomllib.loads(text), text, "test")


def place(code: str, name: str, count: float, previous: float, **kw: object) -> dict:
    row = {"area_code": code, "area_name": name, "parent_code": kw.pop("parent", "E09000001"),
           "parent_name": "Borough", "count": count, "previous_count": previous,
           "change_pct": 100 * (count - previous) / previous if previous else np.nan,
           "change_p": 0.5, "change_p_adjusted": 0.5, "population": 10_000.0, "gi_z": 0.0,
           "gi_p_sim": 0.5, "gi_p_fdr": 0.5, "gi_p_bonferroni": 1.0, "gi_p_norm": 0.5,
           "lisa_quadrant": "HH", "lisa_p_sim": 0.5, "lisa_p_fdr": 0.5,
           "ehsa_category": "no pattern detected", "trend": "none", "trend_p": 0.5,
           "deprivation_rank": 50.0, "deprivation_n": 100.0}
    row.update(kw)
    return row


def places() -> pd.DataFrame:
    return pd.DataFrame([
        # A significant rise in a deprived ward: picked, rising.
        place("W1", "Peckham", 538, 412, change_p_adjusted=0.003, deprivation_rank=7.0,
              ehsa_category="intensifying hot spot"),
        # An emerging hot spot, no significant change, deprived: picked by "any".
        place("W2", "Rye Lane", 220, 200, ehsa_category="new hot spot", deprivation_rank=15.0),
        # A significant rise but not deprived: not picked.
        place("W3", "Dulwich", 300, 200, change_p_adjusted=0.001, deprivation_rank=90.0),
        # A significant fall: picked, falling (falling has no deprivation condition).
        place("W4", "Nunhead", 150, 230, change_p_adjusted=0.01, deprivation_rank=60.0),
        # Would be picked but is below the population floor.
        place("W5", "Tiny", 80, 40, change_p_adjusted=0.001, deprivation_rank=3.0,
              population=600.0),
        # Below the count floor in both periods.
        place("W6", "Quiet", 12, 5, change_p_adjusted=0.04, deprivation_rank=4.0),
    ])


def test_shipped_rules_parse() -> None:
    files = sorted(RULES_DIR.glob("*.toml"))
    assert len(files) >= 3
    for path in files:
        text = path.read_text("utf-8")
        r = pr.parse_rule(tomllib.loads(text), text, path.name)
        assert r.name == path.stem
        assert r.describe("Violence against the person", "London")


def test_rule_fields_and_description() -> None:
    r = rule()
    assert (r.geography, r.months, r.permutations, r.seed, r.alpha) == ("ward", 12, 999, 0,
                                                                       0.05)
    assert r.global_window == "neighbourhood" and r.weights == "queen"
    text = r.describe("Violence against the person", "London")
    assert ("A ward is picked as rising when violence against the person rose significantly"
            in text)
    assert "or it is a new hot spot or an intensifying hot spot; and it is among the 20% most " \
           "deprived wards in London" in text
    assert "Places with fewer than 1,000 residents or fewer than 20 offences in both " \
           "periods are not considered." in text


@pytest.mark.parametrize(("change", "message"), [
    (("[analysis]\n", "[analysis]\ncolour = 'red'\n"), "unknown keys \\['colour'\\]"),
    (('geography = "ward"', 'geography = "county"'), "geography must be one of"),
    (('direction = "rising"', 'direction = "up"'), "direction must be 'rising' or 'falling'"),
    (('any = ["fall"]', 'any = ["drop"]'), "no criterion called drop"),
    (('most_deprived_share = 0.2', 'most_deprived_share = 20'), "must be a fraction"),
    (('categories = ["new hot spot", "intensifying hot spot"]', 'categories = ["warm spot"]'),
     "categories must be a list of"),
    (('kind = "emerging"', 'kind = "vibes"'), "kind must be one of"),
    (('[analysis]\n', '[analysis]\nalpha = 1.5\n'), "alpha must be between 0 and 1"),
])
def test_bad_rules_are_refused_with_where_and_why(change: tuple[str, str],
                                                  message: str) -> None:
    with pytest.raises(pr.RuleError, match=message):
        rule(RULE.replace(*change, 1))


def test_a_rule_needs_a_selection() -> None:
    text = RULE.split("[rising]")[0]
    with pytest.raises(pr.RuleError, match="give a \\[rising\\] or a \\[falling\\]"):
        rule(text)


def test_selection_floors_and_explanations() -> None:
    out = pr.select_places(places(), rule(), measure_name="Violence against the person",
                           area_name="London")
    rising = out[out["direction"] == "rising"]
    falling = out[out["direction"] == "falling"]
    excluded = out[out["direction"].isna()]
    assert rising["area_code"].tolist() == ["W1", "W2"]
    assert falling["area_code"].tolist() == ["W4"]
    assert sorted(excluded["area_code"]) == ["W5", "W6"]
    reasons = dict(zip(excluded["area_code"], excluded["excluded_reason"], strict=True))
    assert reasons["W5"] == "600 residents, under the floor of 1,000"
    assert reasons["W6"] == "12 offences at most in a period, under the floor of 20"
    why = dict(zip(out["area_code"], out["explanation"], strict=False))
    assert why["W1"] == ("Violence against the person in Peckham rose from 412 to 538 (+31%), "
                         "a significant rise (p = 0.003); Peckham is an intensifying hot spot "
                         "and among the 10% most deprived wards in London.")
    assert why["W2"] == ("Violence against the person in Rye Lane rose from 200 to 220 (+10%), "
                         "not a significant change (p = 0.500); Rye Lane is a new hot spot and "
                         "among the 20% most deprived wards in London.")
    assert why["W4"] == ("Violence against the person in Nunhead fell from 230 to 150 (−35%), "
                         "a significant fall (p = 0.010).")
    crit = dict(zip(out["area_code"], out["criteria_met"], strict=False))
    assert crit["W1"] == "rise; emerging; deprived"


def test_other_criteria_kinds() -> None:
    text = RULE.replace('[rising]\nany = ["rise", "emerging"]\nall = ["deprived"]',
                        '[criteria.hot]\nkind = "hot_spot"\nspot = "hot"\n'
                        '[criteria.up]\nkind = "trend"\ndirection = "rising"\n'
                        '[criteria.hh]\nkind = "cluster"\nquadrants = ["HH"]\n'
                        '[rising]\nall = ["hot", "up", "hh"]')
    frame = places()
    frame.loc[0, ["gi_z", "gi_p_fdr", "trend", "trend_p", "lisa_p_fdr"]] = [4.2, 0.01,
                                                                           "rising", 0.002,
                                                                           0.02]
    frame.loc[1, ["gi_z", "gi_p_fdr", "trend", "trend_p"]] = [-3.0, 0.01, "rising", 0.002]
    out = pr.select_places(frame, rule(text), measure_name="Violence against the person",
                           area_name="London")
    rising = out[out["direction"] == "rising"]
    assert rising["area_code"].tolist() == ["W1"]
    assert rising["explanation"].iloc[0].endswith(
        "Peckham is a significant hot spot (Gi* z = 4.2), on a significant rising trend over "
        "the whole series (Mann-Kendall p = 0.002) and part of a significant local cluster "
        "(HH: high values surrounded by high values).")


def test_deprivation_bucket() -> None:
    assert pr.deprivation_bucket(1, 679) == 10
    assert pr.deprivation_bucket(68, 679) == 20  # 68 / 679 = 10.01%
    assert pr.deprivation_bucket(67, 679) == 10
    assert pr.deprivation_bucket(100, 100) == 100


def test_contiguous_clusters_and_multi_borough() -> None:
    # a - b - c - d - e on a line; a, b in borough X, c in Y; e alone.
    w = from_neighbours(list("abcde"), {"a": ["b"], "b": ["a", "c"], "c": ["b", "d"],
                                        "d": ["c", "e"], "e": ["d"]})
    picked = pd.DataFrame({"area_code": list("abce"), "count": [10, 20, 30, 5],
                           "direction": ["rising", "rising", "rising", "rising"]})
    clusters = pr.contiguous_clusters(picked, w, {"a": "X", "b": "X", "c": "Y", "e": "Y"})
    assert [(c.cluster_id, c.members, c.parents, c.multi_borough) for c in clusters] == [
        ("R1", ("a", "b", "c"), ("X", "Y"), True),
        ("R2", ("e",), ("Y",), False),
    ]
    assert clusters[0].total_count == 60


def test_small_p_values_read_as_less_than() -> None:
    row = place("W9", "Walworth", 900, 600, change_p_adjusted=0.00002)
    crit = rule().criteria["rise"]
    text = pr.explain(row, [crit], "rising", "Violence against the person", "ward", "London")
    assert text == ("Violence against the person in Walworth rose from 600 to 900 (+50%), a "
                    "significant rise (p < 0.001).")


def test_none_and_places_picked_both_ways() -> None:
    # W7: an intensifying hot spot in a deprived ward whose count fell significantly. The
    # rule above picks it both ways, and each reason says so and states the fall.
    frame = pd.concat([places(), pd.DataFrame([place(
        "W7", "Walworth", 280, 474, change_p_adjusted=0.0004, deprivation_rank=5.0,
        ehsa_category="intensifying hot spot")])], ignore_index=True)
    out = pr.select_places(frame, rule(), measure_name="Violence against the person",
                           area_name="London")
    w7 = out[out["area_code"] == "W7"]
    assert sorted(w7["direction"]) == ["falling", "rising"]
    rising_reason = w7.loc[w7["direction"] == "rising", "explanation"].iloc[0]
    assert rising_reason == (
        "Violence against the person in Walworth fell from 474 to 280 (−41%), a significant "
        "fall (p < 0.001); Walworth is an intensifying hot spot and among the 10% most "
        "deprived wards in London. The rule also picks Walworth as falling: read the two "
        "together.")
    # With none = ["fall"], the rising selection leaves it out.
    strict = rule(RULE.replace('all = ["deprived"]', 'all = ["deprived"]\nnone = ["fall"]'))
    assert strict.rising is not None and strict.rising.none == ("fall",)
    out = pr.select_places(frame, strict, measure_name="Violence against the person",
                           area_name="London")
    assert out.loc[out["area_code"] == "W7", "direction"].tolist() == ["falling"]
    assert "unless violence against the person fell significantly" in strict.describe(
        "Violence against the person", "London")
