"""Priority places: the published selection rule, its plain-English reasons, and clusters.

A VRU invests in places where violence is rising significantly and learns from places where
it is falling significantly. Which places those are is decided by a **rule** that is
published before it is applied, written as data (TOML), so anyone can read it, re-run it and
check the list. A rule names:

* ``[analysis]``: the measure, geography, period length, spatial weights, permutations,
  seed and significance level the hot spot statistics use;
* ``[floors]``: places too small to judge are not considered: ``min_population``
  residents, ``min_count`` offences in the larger of the two periods;
* ``[criteria.NAME]``: named tests, each of one ``kind``:

  - ``change``: ``direction`` "rising" or "falling": the count changed significantly
    between the previous and the current period (exact conditional test,
    Benjamini-Hochberg across the places when ``adjusted`` (default), at ``alpha``);
  - ``hot_spot``: ``spot`` "hot" or "cold": local Gi* significant at ``alpha`` (``p``:
    "fdr" (default), "sim", "bonferroni" or "norm") with z > 0 (hot) or z < 0 (cold);
  - ``emerging``: the emerging hot spot category is one of ``categories``;
  - ``trend``: ``direction`` "rising" or "falling": Mann-Kendall trend of the counts over
    the whole series, significant at ``alpha``;
  - ``deprivation``: among the ``most_deprived_share`` most deprived places of the area
    (by population-weighted average IMD score, rank 1 the most deprived);
  - ``cluster``: ``quadrants`` (e.g. ["HH"]): a significant local Moran cluster;

* ``[rising]`` and ``[falling]``: which criteria pick a place, as ``any = [...]`` (at least
  one must hold; an empty list means no condition), ``all = [...]`` (every one must hold)
  and ``none = [...]`` (none may hold). "(A or B) and C, unless D" is
  ``any = ["A", "B"], all = ["C"], none = ["D"]``. A place picked both as rising and as
  falling (a rule without ``none`` can do that) is listed under both, and each reason says
  so.

Every picked place gets an explanation made from its own numbers: what happened to the count
and whether the change is significant at the rule's alpha, whether or not the rule asked
("rose from 412 to 538 (+31%), a significant rise (p = 0.003)"), then each other criterion
it met ("an intensifying hot spot", "among the 10% most deprived wards in London"). Picked
places that touch (under the analysis's contiguity) form **clusters**; a cluster spanning more
than one borough is a multi-borough cluster, to be funded and run together.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy.sparse.csgraph import connected_components

from vru.domain.places.emerging_hotspots import CATEGORIES, EMERGING, GLOBAL_WINDOWS
from vru.domain.places.weights import ISLAND_POLICIES, WEIGHTS_RULES, SpatialWeights

CRITERION_KINDS: tuple[str, ...] = (
    "change", "hot_spot", "emerging", "trend", "deprivation", "cluster",
)
GEOGRAPHIES: tuple[str, ...] = ("borough", "ward", "lsoa", "grid")
PLURALS: dict[str, str] = {"borough": "boroughs", "ward": "wards", "lsoa": "LSOAs",
                           "grid": "grid cells"}
DIRECTIONS: tuple[str, ...] = ("rising", "falling")
PLACE_COLUMNS: tuple[str, ...] = (
    "area_code", "area_name", "parent_code", "count", "previous_count", "change_pct",
    "change_p", "change_p_adjusted", "population", "gi_z", "gi_p_sim", "gi_p_fdr",
    "gi_p_bonferroni", "gi_p_norm", "lisa_quadrant", "lisa_p_sim", "lisa_p_fdr",
    "ehsa_category", "trend", "trend_p", "deprivation_rank", "deprivation_n",
)
"""Columns ``select_places`` reads from the place table (one row per place)."""


class RuleError(ValueError):
    """A rule that cannot be used; the message says where and why."""


@dataclass(frozen=True)
class Criterion:
    name: str
    kind: str
    params: Mapping[str, Any]

    def describe(self, measure_name: str, geography: str, area_name: str) -> str:
        """The criterion in words, for the published rule."""
        p = self.params
        alpha = p.get("alpha", 0.05)
        if self.kind == "change":
            word = "rose" if p["direction"] == "rising" else "fell"
            adj = (" (exact test, false discovery rate controlled at "
                   f"{_pct(alpha)} across the {PLURALS[geography]})" if p.get("adjusted", True)
                   else f" (exact test, p < {alpha:g})")
            return (f"{measure_name.lower()} {word} significantly between the previous and the "
                    f"latest period{adj}")
        if self.kind == "hot_spot":
            return f"it is a significant {p['spot']} spot (local Gi*, {p.get('p', 'fdr')} " \
                   f"p < {alpha:g})"
        if self.kind == "emerging":
            return "it is " + _or_list([_article(c) for c in p["categories"]])
        if self.kind == "trend":
            return (f"the counts show a significant {p['direction']} trend over the whole "
                    f"series (Mann-Kendall, p < {alpha:g})")
        if self.kind == "deprivation":
            return (f"it is among the {_pct(p['most_deprived_share'])} most deprived "
                    f"{PLURALS[geography]} in {area_name} (population-weighted average IMD "
                    "2019 score)")
        return (f"it is a significant local Moran cluster of type {', '.join(p['quadrants'])} "
                f"(p < {alpha:g})")


@dataclass(frozen=True)
class Selection:
    any: tuple[str, ...]
    all: tuple[str, ...]
    none: tuple[str, ...] = ()


@dataclass(frozen=True)
class PriorityRule:
    """A parsed selection rule (see the module docstring for the TOML layout)."""

    name: str
    title: str
    description: str
    version: int
    measure: str
    geography: str
    months: int
    weights: str
    permutations: int
    seed: int
    alpha: float
    time_lag: int
    global_window: str
    islands: str
    min_population: float
    min_count: float
    criteria: Mapping[str, Criterion]
    rising: Selection | None
    falling: Selection | None
    source_text: str = ""
    extra: Mapping[str, Any] = field(default_factory=dict)

    def describe(self, measure_name: str, area_name: str) -> str:
        """The rule in plain English, as it is published."""
        parts = [f"{self.title}. {self.description}".strip()]
        for direction, sel in (("rising", self.rising), ("falling", self.falling)):
            if sel is None:
                continue
            unit = self.geography if self.geography != "lsoa" else "LSOA"
            text = f"A {unit} is picked as {direction} when "
            conds: list[str] = []
            if sel.any:
                conds.append(_or_list([self.criteria[c].describe(
                    measure_name, self.geography, area_name) for c in sel.any]))
            conds += [self.criteria[c].describe(measure_name, self.geography, area_name)
                      for c in sel.all]
            unless = ""
            if sel.none:
                unless = "; unless " + _or_list([self.criteria[c].describe(
                    measure_name, self.geography, area_name) for c in sel.none])
            parts.append(text + "; and ".join(conds) + unless + ".")
        floors = []
        if self.min_population > 0:
            floors.append(f"fewer than {self.min_population:,.0f} residents")
        if self.min_count > 0:
            floors.append(f"fewer than {self.min_count:,.0f} offences in both periods")
        if floors:
            parts.append(f"Places with {' or '.join(floors)} are not considered.")
        return " ".join(parts)


def parse_rule(data: Mapping[str, Any], source_text: str = "", where: str = "rule"
               ) -> PriorityRule:
    """A ``PriorityRule`` from the rule's TOML data; ``RuleError`` naming the problem."""
    known_top = {"name", "title", "description", "version", "analysis", "floors", "criteria",
                 "rising", "falling"}
    unknown = set(data) - known_top
    if unknown:
        raise RuleError(f"{where}: unknown keys {sorted(unknown)}; allowed: "
                        f"{', '.join(sorted(known_top))}")
    name = _text(data, "name", where)
    analysis = _table(data, "analysis", where)
    allowed_analysis = {"measure", "geography", "months", "weights", "permutations", "seed",
                        "alpha", "time_lag", "islands", "global_window"}
    bad = set(analysis) - allowed_analysis
    if bad:
        raise RuleError(f"{where} [analysis]: unknown keys {sorted(bad)}; allowed: "
                        f"{', '.join(sorted(allowed_analysis))}")
    geography = str(analysis.get("geography", "ward"))
    if geography not in GEOGRAPHIES:
        raise RuleError(f"{where} [analysis]: geography must be one of "
                        f"{', '.join(GEOGRAPHIES)}, got {geography!r}")
    weights = str(analysis.get("weights", "queen"))
    if weights not in WEIGHTS_RULES:
        raise RuleError(f"{where} [analysis]: weights must be one of {', '.join(WEIGHTS_RULES)}")
    islands = str(analysis.get("islands", "nearest"))
    if islands not in ISLAND_POLICIES:
        raise RuleError(f"{where} [analysis]: islands must be one of "
                        f"{', '.join(ISLAND_POLICIES)}")
    global_window = str(analysis.get("global_window", "neighbourhood"))
    if global_window not in GLOBAL_WINDOWS:
        raise RuleError(f"{where} [analysis]: global_window must be one of "
                        f"{', '.join(GLOBAL_WINDOWS)}")
    months = _int(analysis, "months", 12, where, 1)
    permutations = _int(analysis, "permutations", 999, where, 1)
    seed = _int(analysis, "seed", 0, where, 0)
    time_lag = _int(analysis, "time_lag", 1, where, 0)
    alpha = _alpha(analysis.get("alpha", 0.05), f"{where} [analysis]")
    measure = _text(analysis, "measure", f"{where} [analysis]")
    floors = data.get("floors", {})
    if not isinstance(floors, Mapping):
        raise RuleError(f"{where}: [floors] must be a table")
    bad = set(floors) - {"min_population", "min_count"}
    if bad:
        raise RuleError(f"{where} [floors]: unknown keys {sorted(bad)}")
    min_population = _number(floors, "min_population", 0.0, f"{where} [floors]")
    min_count = _number(floors, "min_count", 0.0, f"{where} [floors]")
    raw_criteria = _table(data, "criteria", where)
    criteria = {cname: _criterion(cname, spec, alpha, where)
                for cname, spec in raw_criteria.items()}
    rising = _selection(data.get("rising"), "rising", criteria, where)
    falling = _selection(data.get("falling"), "falling", criteria, where)
    if rising is None and falling is None:
        raise RuleError(f"{where}: give a [rising] or a [falling] selection (or both)")
    version = data.get("version", 1)
    if not isinstance(version, int):
        raise RuleError(f"{where}: version must be a whole number")
    return PriorityRule(
        name=name, title=str(data.get("title", name)),
        description=str(data.get("description", "")).strip(), version=version,
        measure=measure, geography=geography, months=months, weights=weights,
        permutations=permutations, seed=seed, alpha=alpha, time_lag=time_lag,
        global_window=global_window, islands=islands, min_population=min_population,
        min_count=min_count,
        criteria=criteria, rising=rising, falling=falling, source_text=source_text)


def _criterion(name: str, spec: Any, alpha: float, where: str) -> Criterion:
    at = f"{where} [criteria.{name}]"
    if not isinstance(spec, Mapping):
        raise RuleError(f"{at}: must be a table with a kind")
    kind = spec.get("kind")
    if kind not in CRITERION_KINDS:
        raise RuleError(f"{at}: kind must be one of {', '.join(CRITERION_KINDS)}, got {kind!r}")
    params: dict[str, Any] = {k: v for k, v in spec.items() if k != "kind"}
    allowed = {
        "change": {"direction", "alpha", "adjusted"},
        "hot_spot": {"spot", "alpha", "p"},
        "emerging": {"categories"},
        "trend": {"direction", "alpha"},
        "deprivation": {"most_deprived_share"},
        "cluster": {"quadrants", "alpha", "p"},
    }[kind]
    bad = set(params) - allowed
    if bad:
        raise RuleError(f"{at}: unknown keys {sorted(bad)} for kind {kind!r}; allowed: "
                        f"{', '.join(sorted(allowed))}")
    if "alpha" in allowed:
        params["alpha"] = _alpha(params.get("alpha", alpha), at)
    if kind in ("change", "trend"):
        if params.get("direction") not in DIRECTIONS:
            raise RuleError(f"{at}: direction must be 'rising' or 'falling'")
        if kind == "change":
            params["adjusted"] = bool(params.get("adjusted", True))
    elif kind == "hot_spot":
        if params.get("spot") not in ("hot", "cold"):
            raise RuleError(f"{at}: spot must be 'hot' or 'cold'")
        if params.setdefault("p", "fdr") not in ("fdr", "sim", "bonferroni", "norm"):
            raise RuleError(f"{at}: p must be 'fdr', 'sim', 'bonferroni' or 'norm'")
    elif kind == "emerging":
        cats = params.get("categories", sorted(EMERGING))
        if (not isinstance(cats, list) or not cats
                or any(c not in CATEGORIES for c in cats)):
            raise RuleError(f"{at}: categories must be a list of: {', '.join(CATEGORIES)}")
        params["categories"] = tuple(cats)
    elif kind == "deprivation":
        share = params.get("most_deprived_share")
        if not isinstance(share, (int, float)) or not 0 < float(share) <= 1:
            raise RuleError(f"{at}: most_deprived_share must be a fraction, e.g. 0.2")
        params["most_deprived_share"] = float(share)
    else:
        quads = params.get("quadrants")
        if not isinstance(quads, list) or not quads or any(q not in ("HH", "LH", "LL", "HL")
                                                            for q in quads):
            raise RuleError(f"{at}: quadrants must be a list of HH, LH, LL, HL")
        params["quadrants"] = tuple(quads)
        if params.setdefault("p", "fdr") not in ("fdr", "sim"):
            raise RuleError(f"{at}: p must be 'fdr' or 'sim'")
    return Criterion(name, str(kind), params)


def _selection(spec: Any, label: str, criteria: Mapping[str, Criterion],
               where: str) -> Selection | None:
    if spec is None:
        return None
    at = f"{where} [{label}]"
    if not isinstance(spec, Mapping):
        raise RuleError(f"{at}: must be a table with any = [...] and/or all = [...]")
    bad = set(spec) - {"any", "all", "none"}
    if bad:
        raise RuleError(f"{at}: unknown keys {sorted(bad)}; use any, all and none")
    out: dict[str, tuple[str, ...]] = {}
    for key in ("any", "all", "none"):
        names = spec.get(key, [])
        if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
            raise RuleError(f"{at}: {key} must be a list of criterion names")
        missing = [n for n in names if n not in criteria]
        if missing:
            raise RuleError(f"{at}: no criterion called {', '.join(missing)}; defined: "
                            f"{', '.join(criteria) or 'none'}")
        out[key] = tuple(names)
    if not out["any"] and not out["all"]:
        raise RuleError(f"{at}: name at least one criterion")
    return Selection(out["any"], out["all"], out["none"])


# --------------------------------------------------------------------------- evaluation


def criterion_met(places: pd.DataFrame, criterion: Criterion) -> pd.Series:
    """Whether each place meets ``criterion`` (False where the data to judge is missing)."""
    p = criterion.params
    alpha = float(p.get("alpha", 0.05))
    if criterion.kind == "change":
        pv = _col(places, "change_p_adjusted" if p.get("adjusted", True) else "change_p")
        cur, prev = _col(places, "count"), _col(places, "previous_count")
        moved = cur > prev if p["direction"] == "rising" else cur < prev
        return pd.Series((pv < alpha) & moved, index=places.index)
    if criterion.kind == "hot_spot":
        col = {"fdr": "gi_p_fdr", "sim": "gi_p_sim", "bonferroni": "gi_p_bonferroni",
               "norm": "gi_p_norm"}[p["p"]]
        z = _col(places, "gi_z")
        sign = z > 0 if p["spot"] == "hot" else z < 0
        return pd.Series((_col(places, col) < alpha) & sign, index=places.index)
    if criterion.kind == "emerging":
        return pd.Series(places["ehsa_category"].isin(p["categories"]).to_numpy(dtype=bool),
                         index=places.index)
    if criterion.kind == "trend":
        same = (places["trend"] == p["direction"]).to_numpy(dtype=bool)
        return pd.Series(same & (_col(places, "trend_p") < alpha), index=places.index)
    if criterion.kind == "deprivation":
        share = _col(places, "deprivation_rank") / _col(places, "deprivation_n")
        return pd.Series(share <= p["most_deprived_share"] + 1e-12, index=places.index)
    col = "lisa_p_fdr" if p.get("p", "fdr") == "fdr" else "lisa_p_sim"
    quad = places["lisa_quadrant"].isin(p["quadrants"]).to_numpy(dtype=bool)
    return pd.Series(quad & (_col(places, col) < alpha), index=places.index)


def _col(df: pd.DataFrame, col: str) -> Any:
    if col not in df.columns:
        raise KeyError(f"the place table has no column {col!r}")
    return pd.to_numeric(df[col], errors="coerce").to_numpy(dtype=np.float64,
                                                            na_value=np.nan)


def select_places(
    places: pd.DataFrame,
    rule: PriorityRule,
    *,
    measure_name: str,
    area_name: str,
) -> pd.DataFrame:
    """The place table with the rule applied: one row per place and direction it was picked
    for, plus every place left out by a floor. Columns added: ``direction`` ("rising",
    "falling" or None for an excluded place), ``criteria_met`` (names, "; "-joined),
    ``explanation`` and ``excluded_reason``.

    Each criterion is evaluated on every place (so FDR families are all the places tested),
    then the floors remove the places too small to judge.
    """
    missing = [c for c in ("area_code", "area_name", "count", "previous_count")
               if c not in places.columns]
    if missing:
        raise KeyError(f"the place table lacks {', '.join(missing)}")
    met = {name: criterion_met(places, c).fillna(False).to_numpy(dtype=bool)
           for name, c in rule.criteria.items()}
    reasons = _floor_reasons(places, rule)
    rows: list[dict[str, Any]] = []
    records = [{str(k): v for k, v in r.items()} for r in places.to_dict(orient="records")]
    for direction, sel in (("rising", rule.rising), ("falling", rule.falling)):
        if sel is None:
            continue
        pick = np.ones(len(places), dtype=bool)
        if sel.any:
            pick &= np.any([met[n] for n in sel.any], axis=0)
        for n in sel.all:
            pick &= met[n]
        for n in sel.none:
            pick &= ~met[n]
        for i in (int(j) for j in np.flatnonzero(pick)):
            if reasons[i]:
                continue
            row = dict(records[i])
            used = [n for n in (*sel.any, *sel.all) if met[n][i]]
            row["direction"] = direction
            row["criteria_met"] = "; ".join(dict.fromkeys(used))
            row["explanation"] = explain(row, [rule.criteria[n] for n in dict.fromkeys(used)],
                                         direction, measure_name, rule.geography, area_name,
                                         rule.alpha)
            row["excluded_reason"] = None
            rows.append(row)
    both = ({r["area_code"] for r in rows if r["direction"] == "rising"}
            & {r["area_code"] for r in rows if r["direction"] == "falling"})
    for r in rows:
        if r["area_code"] in both:
            other = "falling" if r["direction"] == "rising" else "rising"
            r["explanation"] += (f" The rule also picks {r['area_name']} as {other}: read the "
                                 "two together.")
    for i, reason in enumerate(reasons):
        if reason:
            row = dict(records[i])
            row.update(direction=None, criteria_met="", explanation="", excluded_reason=reason)
            rows.append(row)
    out = pd.DataFrame(rows, columns=[*places.columns, "direction", "criteria_met",
                                      "explanation", "excluded_reason"])
    order = {"rising": 0, "falling": 1}
    out["_o"] = out["direction"].map(order).fillna(2)
    out["_c"] = -pd.to_numeric(out["count"], errors="coerce").fillna(0)
    out = out.sort_values(["_o", "_c", "area_code"], kind="stable").drop(columns=["_o", "_c"])
    return out.reset_index(drop=True)


def _floor_reasons(places: pd.DataFrame, rule: PriorityRule) -> list[str | None]:
    out: list[str | None] = []
    pop = (_col(places, "population") if "population" in places.columns
           else np.full(len(places), np.nan))
    cur, prev = _col(places, "count"), _col(places, "previous_count")
    for i in range(len(places)):
        why = []
        if rule.min_population > 0:
            if not np.isfinite(pop[i]):
                why.append("no population is known, so the population floor cannot be checked")
            elif pop[i] < rule.min_population:
                why.append(f"{pop[i]:,.0f} residents, under the floor of "
                           f"{rule.min_population:,.0f}")
        if rule.min_count > 0:
            top = np.nanmax([cur[i], prev[i]])
            if not np.isfinite(top) or top < rule.min_count:
                why.append(f"{0 if not np.isfinite(top) else top:,.0f} offences at most in a "
                           f"period, under the floor of {rule.min_count:,.0f}")
        out.append("; ".join(why) or None)
    return out


def explain(row: Mapping[str, Any], met: Sequence[Criterion], direction: str,
            measure_name: str, geography: str, area_name: str, alpha: float = 0.05) -> str:
    """The plain-English reason a place was picked, built from its own numbers.

    The count clause always says whether the change is significant: by the change criterion
    the place met, if any, else by its FDR-adjusted p-value against ``alpha``."""
    name = str(row.get("area_name") or row.get("area_code"))
    cur, prev = _num(row.get("count")), _num(row.get("previous_count"))
    change = next((c for c in met if c.kind == "change"), None)
    lead = f"{measure_name} in {name}"
    if cur is not None and prev is not None:
        if cur > prev:
            lead += f" rose from {prev:,.0f} to {cur:,.0f}"
        elif cur < prev:
            lead += f" fell from {prev:,.0f} to {cur:,.0f}"
        else:
            lead += f" was unchanged at {cur:,.0f}"
        if prev > 0 and cur != prev:
            lead += f" ({_signed_pct(100.0 * (cur - prev) / prev)})"
        if change is not None:
            q = _num(row.get("change_p_adjusted" if change.params.get("adjusted", True)
                             else "change_p"))
            cut = float(change.params.get("alpha", alpha))
        else:
            q = _num(row.get("change_p_adjusted"))
            cut = alpha
        if q is None or cur == prev:
            lead += ", no change test" if q is None else ""
        elif q < cut:
            lead += (f", a significant {'rise' if cur > prev else 'fall'} (p {_p_is(q)})")
        else:
            lead += f", not a significant change (p {_p_is(q)})"
    facts = [_fact(row, c, geography, area_name) for c in met if c.kind != "change"]
    facts = [f for f in facts if f]
    if not facts:
        return lead + "."
    return f"{lead}; {name} is {_and_list(facts)}."


def _fact(row: Mapping[str, Any], c: Criterion, geography: str, area_name: str) -> str:
    if c.kind == "emerging":
        return _article(str(row.get("ehsa_category")))
    if c.kind == "hot_spot":
        z = _num(row.get("gi_z"))
        return f"a significant {c.params['spot']} spot" + (f" (Gi* z = {z:.1f})"
                                                           if z is not None else "")
    if c.kind == "trend":
        pv = _num(row.get("trend_p"))
        return (f"on a significant {c.params['direction']} trend over the whole series"
                + (f" (Mann-Kendall p {_p_is(pv)})" if pv is not None else ""))
    if c.kind == "deprivation":
        rank, n = _num(row.get("deprivation_rank")), _num(row.get("deprivation_n"))
        if rank is None or n is None or n <= 0:
            return ""
        bucket = deprivation_bucket(rank, n)
        return f"among the {bucket}% most deprived {PLURALS.get(geography, 'places')} in " \
               f"{area_name}"
    if c.kind == "cluster":
        q = row.get("lisa_quadrant")
        words = {"HH": "high values surrounded by high values",
                 "LL": "low values surrounded by low values",
                 "HL": "a high value among low values", "LH": "a low value among high values"}
        return f"part of a significant local cluster ({q}: {words.get(str(q), q)})"
    return ""


def deprivation_bucket(rank: float, n: float) -> int:
    """The smallest multiple of 10 per cent of places that rank (1 = most deprived) is in:
    rank 3 of 100 -> 10, rank 15 of 100 -> 20."""
    return int(min(100, 10 * math.ceil(10 * rank / n - 1e-9)))


# --------------------------------------------------------------------------- clusters


@dataclass(frozen=True)
class Cluster:
    """Contiguous picked places: ``members`` (codes), their ``parents`` (boroughs)."""

    cluster_id: str
    direction: str
    members: tuple[str, ...]
    parents: tuple[str, ...]
    total_count: float

    @property
    def multi_borough(self) -> bool:
        return len(self.parents) > 1


def contiguous_clusters(
    selected: pd.DataFrame, weights: SpatialWeights, parent_of: Mapping[str, str] | None = None
) -> list[Cluster]:
    """Groups of picked places (per direction) that are connected through neighbour links
    among themselves (connected components of W restricted to the picked places).
    Numbered by direction, then by total count, largest first ("R1", "R2", ... "F1")."""
    index = weights.index()
    out: list[Cluster] = []
    for direction, prefix in (("rising", "R"), ("falling", "F")):
        part = selected[selected["direction"] == direction]
        codes = [c for c in part["area_code"].astype(str) if c in index]
        if not codes:
            continue
        idx = np.array([index[c] for c in codes])
        sub = weights.matrix[idx][:, idx]
        _n, labels = connected_components(sub, directed=True, connection="weak")
        count_of = dict(zip(part["area_code"].astype(str),
                            pd.to_numeric(part["count"], errors="coerce").fillna(0),
                            strict=False))
        groups: dict[int, list[str]] = {}
        for code, lab in zip(codes, labels, strict=True):
            groups.setdefault(int(lab), []).append(code)
        made = []
        for members in groups.values():
            parents = tuple(sorted({(parent_of or {}).get(c, c) for c in members}))
            made.append((sorted(members), parents,
                         float(sum(count_of.get(c, 0.0) for c in members))))
        made.sort(key=lambda m: (-m[2], m[0][0]))
        for k, (members, parents, total) in enumerate(made, start=1):
            out.append(Cluster(f"{prefix}{k}", direction, tuple(members), parents, total))
    return out


# --------------------------------------------------------------------------- wording


def _num(v: Any) -> float | None:
    try:
        f = float(v)
    except (TypeError, ValueError):
        return None
    return f if math.isfinite(f) else None


def _p_is(p: float) -> str:
    """"< 0.001" or "= 0.012": a p-value as it reads after "p"."""
    return "< 0.001" if p < 0.001 else f"= {p:.3f}"


def _pct(share: float) -> str:
    return f"{100 * share:g}%"


def _signed_pct(pct: float) -> str:
    return f"{'+' if pct > 0 else '−'}{abs(pct):.0f}%"


def _article(phrase: str) -> str:
    return ("an " if phrase[:1].lower() in "aeiou" else "a ") + phrase


def _and_list(items: Iterable[str]) -> str:
    xs = list(items)
    if len(xs) <= 1:
        return "".join(xs)
    return ", ".join(xs[:-1]) + " and " + xs[-1]


def _or_list(items: Iterable[str]) -> str:
    xs = list(items)
    if len(xs) <= 1:
        return "".join(xs)
    return ", ".join(xs[:-1]) + " or " + xs[-1]


def _text(data: Mapping[str, Any], key: str, where: str) -> str:
    v = data.get(key)
    if not isinstance(v, str) or not v.strip():
        raise RuleError(f"{where}: {key} must be given as text")
    return v.strip()


def _table(data: Mapping[str, Any], key: str, where: str) -> Mapping[str, Any]:
    v = data.get(key)
    if not isinstance(v, Mapping):
        raise RuleError(f"{where}: [{key}] must be a table")
    return v


def _int(data: Mapping[str, Any], key: str, default: int, where: str, low: int) -> int:
    v = data.get(key, default)
    if not isinstance(v, int) or isinstance(v, bool) or v < low:
        raise RuleError(f"{where} [analysis]: {key} must be a whole number >= {low}")
    return v


def _number(data: Mapping[str, Any], key: str, default: float, where: str) -> float:
    v = data.get(key, default)
    if not isinstance(v, (int, float)) or isinstance(v, bool) or v < 0:
        raise RuleError(f"{where}: {key} must be a number >= 0")
    return float(v)


def _alpha(v: Any, where: str) -> float:
    if not isinstance(v, (int, float)) or isinstance(v, bool) or not 0 < float(v) < 1:
        raise RuleError(f"{where}: alpha must be between 0 and 1")
    return float(v)
