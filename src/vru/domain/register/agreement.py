"""Agreement between two reviewers who coded the same cases: Cohen's kappa per factor.

For a k x k table of counts n_ij (first reviewer's answer i, second's j), n = sum n_ij and
p_ij = n_ij / n, with row margins p_i. and column margins p_.i::

    p_o   = sum_i p_ii                          observed agreement
    p_e   = sum_i p_i. p_.i                     agreement expected by chance
    kappa = (p_o - p_e) / (1 - p_e)

(Cohen J (1960) A coefficient of agreement for nominal scales, *Educ Psychol Meas*
20:37-46.) Its large-sample variance (Fleiss JL, Cohen J, Everitt BS (1969) Large sample
standard errors of kappa and weighted kappa, *Psychol Bull* 72:323-7)::

    var(kappa) = [ sum_i p_ii (1 - (p_i. + p_.i)(1 - kappa))^2
                   + (1 - kappa)^2 sum_{i != j} p_ij (p_.i + p_j.)^2
                   - (kappa - p_e (1 - kappa))^2 ] / (n (1 - p_e)^2)

gives the Wald interval kappa -/+ z sqrt(var), clipped to [-1, 1]; and under the null
hypothesis kappa = 0::

    var0 = [ p_e + p_e^2 - sum_i p_i. p_.i (p_i. + p_.i) ] / (n (1 - p_e)^2)

gives z = kappa / sqrt(var0) and a two-sided p-value. These are the formulas of
``statsmodels.stats.inter_rater.cohens_kappa`` (the reference the tests use) and of SAS
PROC FREQ. When p_e = 1 (both reviewers gave one and the same answer for every case) kappa
is undefined: agreement is perfect but there is no variation to agree about; it is reported
as missing with that reason. Kappa is described with Landis & Koch's (1977, *Biometrics*
33:159-74) bands.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pandas as pd
from scipy import stats

from vru.domain.statistics.provenance import Method
from vru.domain.statistics.rates import two_sided_z

COHENS_KAPPA = Method(
    "Cohen's kappa with Fleiss-Cohen-Everitt large-sample standard error (Wald interval)",
    "Cohen J (1960) Educ Psychol Meas 20:37-46; Fleiss JL, Cohen J, Everitt BS (1969) "
    "Psychol Bull 72:323-7; Landis JR, Koch GG (1977) Biometrics 33:159-74.",
)

REASON_NO_CASES = "No cases coded by both reviewers with a known answer."
REASON_NO_VARIATION = (
    "Both reviewers gave the same single answer for every case: they agree completely, but "
    "kappa is undefined when there is no variation."
)

AGREEMENT_COLUMNS = (
    "factor", "n", "both_yes", "first_only", "second_only", "both_no", "not_known",
    "observed_agreement", "expected_agreement", "kappa", "se", "ci_low", "ci_high",
    "p_value", "strength", "note",
)


@dataclass(frozen=True)
class Kappa:
    """Cohen's kappa for one table of two reviewers' answers."""

    n: int
    observed_agreement: float
    expected_agreement: float
    kappa: float
    se: float
    ci_low: float
    ci_high: float
    se_null: float
    z: float
    p_value: float
    confidence: float
    note: str = ""

    @property
    def strength(self) -> str:
        return landis_koch(self.kappa)


def landis_koch(kappa: float) -> str:
    """Landis & Koch (1977) words for a kappa: poor, slight, fair, moderate, substantial,
    almost perfect ("" when kappa is missing)."""
    if math.isnan(kappa):
        return ""
    if kappa < 0:
        return "poor"
    for upper, word in ((0.2, "slight"), (0.4, "fair"), (0.6, "moderate"),
                        (0.8, "substantial")):
        if kappa <= upper:
            return word
    return "almost perfect"


def cohens_kappa(table: npt.ArrayLike, confidence: float = 0.95) -> Kappa:
    """Cohen's kappa, its standard error, Wald interval and test of kappa = 0 for a square
    table of counts (rows: first reviewer, columns: second). Formulas in the module
    docstring."""
    t = np.asarray(table, dtype=np.float64)
    if t.ndim != 2 or t.shape[0] != t.shape[1] or t.shape[0] < 2:
        raise ValueError("the agreement table must be square, at least 2 x 2")
    if np.any(t < 0) or not np.all(np.isfinite(t)):
        raise ValueError("the agreement table must hold non-negative counts")
    return _cohens_kappa(t, two_sided_z(confidence), confidence)


def _cohens_kappa(t: npt.NDArray[np.float64], z: float, confidence: float) -> Kappa:
    """``cohens_kappa`` of a checked table, with the normal quantile ``z`` for
    ``confidence`` already worked out (once for many tables)."""
    n = float(t.sum())
    nan = float("nan")
    if n == 0:
        return Kappa(0, nan, nan, nan, nan, nan, nan, nan, nan, nan, confidence,
                     REASON_NO_CASES)
    p = t / n
    rows = p.sum(axis=1)
    cols = p.sum(axis=0)
    po = float(np.trace(p))
    pe = float(np.sum(rows * cols))
    if math.isclose(pe, 1.0, rel_tol=0.0, abs_tol=1e-12):
        return Kappa(int(n), po, pe, nan, nan, nan, nan, nan, nan, nan, confidence,
                     REASON_NO_VARIATION)
    kappa = (po - pe) / (1.0 - pe)
    diag = np.diag(p)
    term_a = float(np.sum(diag * (1.0 - (rows + cols) * (1.0 - kappa)) ** 2))
    # off-diagonal cell (i, j) is weighted by (p_.i + p_j.)^2
    weight = (cols[:, None] + rows[None, :]) ** 2
    off = p * weight
    np.fill_diagonal(off, 0.0)
    term_b = (1.0 - kappa) ** 2 * float(off.sum())
    term_c = (kappa - pe * (1.0 - kappa)) ** 2
    var = (term_a + term_b - term_c) / (n * (1.0 - pe) ** 2)
    var0 = (pe + pe**2 - float(np.sum(rows * cols * (rows + cols)))) / (n * (1.0 - pe) ** 2)
    se = math.sqrt(max(var, 0.0))
    se0 = math.sqrt(max(var0, 0.0))
    zstat = kappa / se0 if se0 > 0 else nan
    pval = float(2.0 * stats.norm.sf(abs(zstat))) if se0 > 0 else nan
    return Kappa(
        n=int(n), observed_agreement=po, expected_agreement=pe, kappa=kappa, se=se,
        ci_low=max(-1.0, kappa - z * se), ci_high=min(1.0, kappa + z * se),
        se_null=se0, z=zstat, p_value=pval, confidence=confidence,
    )


def binary_table(first: npt.ArrayLike, second: npt.ArrayLike) -> npt.NDArray[np.int64]:
    """The 2 x 2 table [[yes-yes, yes-no], [no-yes, no-no]] of two reviewers' answers."""
    a = np.asarray(first, dtype=bool)
    b = np.asarray(second, dtype=bool)
    if a.shape != b.shape:
        raise ValueError("both reviewers must answer for the same cases")
    return np.array([[np.sum(a & b), np.sum(a & ~b)],
                     [np.sum(~a & b), np.sum(~a & ~b)]], dtype=np.int64)


def agreement_by_factor(
    first: pd.DataFrame,
    second: pd.DataFrame,
    factors: Sequence[str],
    confidence: float = 0.95,
) -> pd.DataFrame:
    """Cohen's kappa for each factor between two codings of the same cases.

    ``first`` and ``second`` are indexed by case with one column per factor holding True,
    False or missing (not known). Only cases in both are compared; for each factor, cases
    where either reviewer said "not known" are left out and counted in ``not_known``.
    Returns one row per factor with the 2 x 2 counts, observed and expected agreement,
    kappa, its standard error and interval, the p-value for kappa = 0, the Landis & Koch
    strength and a note where kappa is undefined.
    """
    missing = [f for f in factors if f not in first.columns or f not in second.columns]
    if missing:
        raise KeyError(f"factors not in both codings: {', '.join(missing)}")
    both = first.index.intersection(second.index)
    z = two_sided_z(confidence)
    # both codings read once, as matrices (cases x factors): answer and whether known
    answers: list[tuple[npt.NDArray[np.bool_], npt.NDArray[np.bool_]]] = []
    for coding in (first, second):
        chosen = coding.loc[both, list(factors)].astype("boolean")
        answers.append((chosen.to_numpy(dtype=bool, na_value=False),
                        chosen.notna().to_numpy(dtype=bool)))
    (yes_a, known_a), (yes_b, known_b) = answers
    rows: list[dict[str, object]] = []
    for j, factor in enumerate(factors):
        known = known_a[:, j] & known_b[:, j]
        table = binary_table(yes_a[known, j], yes_b[known, j])
        k = _cohens_kappa(table.astype(np.float64), z, confidence)
        rows.append({
            "factor": factor, "n": k.n,
            "both_yes": int(table[0, 0]), "first_only": int(table[0, 1]),
            "second_only": int(table[1, 0]), "both_no": int(table[1, 1]),
            "not_known": int((~known).sum()),
            "observed_agreement": k.observed_agreement,
            "expected_agreement": k.expected_agreement,
            "kappa": k.kappa, "se": k.se, "ci_low": k.ci_low, "ci_high": k.ci_high,
            "p_value": k.p_value, "strength": k.strength, "note": k.note,
        })
    return pd.DataFrame(rows, columns=list(AGREEMENT_COLUMNS))
