"""Local Gi*, local Moran and global Moran: hand-worked values, and equality with esda on
the same inputs and the same permutations."""

from __future__ import annotations

import warnings

import esda
import libpysal
import numpy as np
import pytest
from esda.crand import vec_permutations
from numpy.testing import assert_allclose, assert_array_equal
from statsmodels.stats.multitest import multipletests

from vru.domain.places import local_statistics as ls
from vru.domain.places.weights import SpatialWeights, from_neighbours

RTOL = 1e-12
SEED = 20240401
PERMS = 999


def lattice_weights(rows: int, cols: int, rook: bool = False) -> SpatialWeights:
    lw = libpysal.weights.lat2W(rows, cols, rook=rook, id_type="string")
    return from_neighbours(lw.id_order, lw.neighbors, "queen" if not rook else "rook")


@pytest.fixture(scope="module")
def w() -> SpatialWeights:
    return lattice_weights(25, 30)


def datasets(n: int) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(11)
    counts = rng.poisson(3.0, n).astype(float)
    counts[:40] += rng.poisson(12.0, 40)  # a hot corner
    return {"counts": counts, "continuous": rng.gamma(2.0, 3.0, n)}


@pytest.fixture(autouse=True)
def _quiet() -> None:
    # esda warns that its default alternative will change, and (transform="R", star=True on
    # weights without a diagonal) that it takes the row maximum, 1, as the self weight.
    warnings.simplefilter("ignore", DeprecationWarning)
    warnings.simplefilter("ignore", FutureWarning)
    warnings.simplefilter("ignore", UserWarning)


# --------------------------------------------------------------------------- permutations


def test_esda_permutation_ids_are_esdas_draws() -> None:
    ours = ls.esda_permutation_ids(500, 8, PERMS, SEED)
    theirs = vec_permutations(8, 500, PERMS, SEED)
    assert_array_equal(ours, theirs)


def test_generator_draws_are_distinct_within_rows_and_reproducible() -> None:
    a = ls.conditional_permutation_ids(100, 7, 200, np.random.default_rng(1))
    b = ls.conditional_permutation_ids(100, 7, 200, np.random.default_rng(1))
    assert_array_equal(a, b)
    assert a.min() >= 0 and a.max() <= 98
    assert all(len(set(row)) == 7 for row in a)


def test_an_explicit_generator_or_draws_are_required(w: SpatialWeights) -> None:
    y = datasets(w.n)["counts"]
    with pytest.raises(ValueError, match="explicit random generator"):
        ls.LocalGi(y, w)
    with pytest.raises(ValueError, match="permutation_ids must have shape"):
        ls.LocalGi(y, w, permutations=10, permutation_ids=np.zeros((5, 8), dtype=int))


# --------------------------------------------------------------------------- Gi* vs esda


@pytest.mark.parametrize("data", ["counts", "continuous"])
@pytest.mark.parametrize("transform", ["B", "R"])
@pytest.mark.parametrize("star", [True, False])
def test_local_gi_equals_esda(w: SpatialWeights, data: str, transform: str,
                              star: bool) -> None:
    y = datasets(w.n)[data]
    ref = esda.G_Local(y, w.to_libpysal(), transform=transform, star=star,
                       permutations=PERMS, seed=SEED, n_jobs=1)
    ids = ls.esda_permutation_ids(w.n, int(w.cardinalities.max()), PERMS, SEED)
    ours = ls.LocalGi(y, w, star=star, transform=transform,  # type: ignore[arg-type]
                      permutation_ids=ids, keep_simulations=True)
    assert_array_equal(ours.Gs, ref.Gs)
    assert_allclose(ours.EGs, ref.EGs, rtol=RTOL)
    # esda keeps its pseudo p-values as float32; ours are float64 of the same counts.
    assert_array_equal(ours.p_sim.astype(np.float32), ref.p_sim)
    assert_array_equal(ours.sim, ref.rGs)
    assert_allclose(ours.EG_sim, ref.EG_sim, rtol=RTOL)
    assert_allclose(ours.seG_sim, ref.seG_sim, rtol=RTOL)
    assert_allclose(ours.z_sim, ref.z_sim, rtol=1e-10)
    assert_allclose(ours.p_z_sim, ref.p_z_sim, rtol=1e-9)
    if transform == "B":
        assert_allclose(ours.VGs, ref.VGs, rtol=RTOL)
        assert_allclose(ours.Zs, ref.Zs, rtol=1e-12, atol=1e-13)
        assert_allclose(ours.p_norm, ref.p_norm, rtol=1e-9, atol=1e-300)


def test_gi_star_z_is_the_same_for_binary_and_row_standardised(w: SpatialWeights) -> None:
    # Ord & Getis (1995) eq. 9: with equal weights in each row, scaling a row scales the
    # numerator and the standard error alike, so the z-score cannot change. (esda's
    # transform="R" z differs: it uses the binary variance with W_i = 1.)
    y = datasets(w.n)["counts"]
    rng = np.random.default_rng(0)
    b = ls.LocalGi(y, w, transform="B", permutations=9, rng=rng)
    r = ls.LocalGi(y, w, transform="R", permutations=9, rng=rng)
    assert_allclose(r.Zs, b.Zs, rtol=1e-10, atol=1e-12)


def test_gi_star_hand_worked() -> None:
    # Four places on a line, a - b - c - d, values 1, 2, 3, 10; binary weights with self.
    # n = 4, sum = 16, x_bar = 4, mean of squares = (1 + 4 + 9 + 100) / 4 = 28.5,
    # s^2 = 28.5 - 16 = 12.5, s = 3.5355339.
    # Place c: neighbours b, d and itself: W = 3, S1 = 3, sum w y = 2 + 3 + 10 = 15.
    # G*_c = 15 / 16 = 0.9375; E[G*] = 3 / 4 = 0.75;
    # z = (15 - 4 * 3) / (3.5355339 * sqrt((4 * 3 - 9) / 3)) = 3 / 3.5355339 = 0.8485281.
    # Place a: W = 2 (a, b), sum = 3: z = (3 - 8) / (3.5355339 * sqrt((8 - 4) / 3))
    #        = -5 / (3.5355339 * 1.1547005) = -1.2247449.
    w = from_neighbours(list("abcd"), {"a": ["b"], "b": ["a", "c"], "c": ["b", "d"],
                                       "d": ["c"]})
    gi = ls.LocalGi([1, 2, 3, 10], w, permutations=9, rng=np.random.default_rng(0))
    assert_allclose(gi.Gs[2], 0.9375, rtol=RTOL)
    assert_allclose(gi.EGs[2], 0.75, rtol=RTOL)
    assert_allclose(gi.Zs[2], 0.8485281374238570, rtol=1e-12)
    assert_allclose(gi.Zs[0], -1.2247448713915890, rtol=1e-12)
    # Var[G*_c] = (4 * 3 - 9) / 3 * 12.5 / 16^2 = 12.5 / 256
    assert_allclose(gi.VGs[2], 12.5 / 256, rtol=RTOL)
    assert_allclose(gi.p_z, 2 * gi.p_norm, rtol=RTOL)


def test_adjusted_p_values_match_statsmodels(w: SpatialWeights) -> None:
    y = datasets(w.n)["counts"]
    gi = ls.LocalGi(y, w, permutations=999, rng=np.random.default_rng(3))
    assert_allclose(gi.p_fdr, multipletests(gi.p_sim, method="fdr_bh")[1], rtol=RTOL)
    assert_allclose(gi.p_bonferroni, multipletests(gi.p_sim, method="bonferroni")[1],
                    rtol=RTOL)
    labels = gi.labels(0.05, "fdr")
    hot = [i for i, lab in enumerate(labels) if lab == "hot spot"]
    assert hot and all(gi.Zs[i] > 0 and gi.p_fdr[i] < 0.05 for i in hot)
    # The hot corner (the first 40 places, rows 0 and 1) holds the hot spots.
    assert min(hot) < 40


def test_same_seed_same_results_different_seed_different_draws(w: SpatialWeights) -> None:
    y = datasets(w.n)["counts"]
    a = ls.LocalGi(y, w, permutations=99, rng=np.random.default_rng(5))
    b = ls.LocalGi(y, w, permutations=99, rng=np.random.default_rng(5))
    c = ls.LocalGi(y, w, permutations=99, rng=np.random.default_rng(6))
    assert_array_equal(a.p_sim, b.p_sim)
    assert not np.array_equal(a.permutation_ids, c.permutation_ids)


def test_islands_get_p_one() -> None:
    w = from_neighbours(list("abcde"), {"a": ["b"], "b": ["a", "c"], "c": ["b"], "d": [],
                                        "e": []})
    gi = ls.LocalGi([5, 6, 7, 20, 1], w, permutations=99, rng=np.random.default_rng(0))
    assert gi.p_sim[3] == 1.0 and gi.p_sim[4] == 1.0
    assert np.isnan(gi.z_sim[3])
    assert gi.islands.tolist() == [3, 4]


def test_all_zero_values_are_refused(w: SpatialWeights) -> None:
    with pytest.raises(ValueError, match="every value is zero"):
        ls.LocalGi(np.zeros(w.n), w, permutations=9, rng=np.random.default_rng(0))


# --------------------------------------------------------------------------- local Moran


@pytest.mark.parametrize("data", ["counts", "continuous"])
@pytest.mark.parametrize("transform", ["R", "B"])
def test_local_moran_equals_esda(w: SpatialWeights, data: str, transform: str) -> None:
    y = datasets(w.n)[data]
    ref = esda.Moran_Local(y, w.to_libpysal(), transformation=transform.lower(),
                           permutations=PERMS, seed=SEED)
    ids = ls.esda_permutation_ids(w.n, int(w.cardinalities.max()), PERMS, SEED)
    ours = ls.LocalMoran(y, w, transform=transform,  # type: ignore[arg-type]
                         permutation_ids=ids, keep_simulations=True)
    assert_array_equal(ours.Is, ref.Is)
    assert_array_equal(ours.q, ref.q)
    assert_array_equal(ours.p_sim, ref.p_sim)
    assert_array_equal(ours.sim, ref.rlisas)
    for mine, theirs in ((ours.EI, ref.EI), (ours.VI, ref.VI), (ours.EIc, ref.EIc),
                         (ours.VIc, ref.VIc), (ours.EI_sim, ref.EI_sim),
                         (ours.seI_sim, ref.seI_sim)):
        assert_allclose(mine, theirs, rtol=1e-10, atol=1e-14)
    assert_allclose(ours.z_sim, ref.z_sim, rtol=1e-9)
    assert_allclose(ours.p_z_sim, ref.p_z_sim, rtol=1e-8, atol=1e-300)


def test_local_moran_hand_worked_and_labels() -> None:
    # a - b - c on a line, values 1, 2, 6: mean 3, population sd sqrt(14/3) = 2.1602469.
    # z = (-0.9258201, -0.4629100, 1.3887301); sum z^2 = 3 (= n, by construction).
    # Row-standardised lags: a: z_b = -0.4629100; b: (z_a + z_c)/2 = 0.2314550;
    # c: z_b = -0.4629100.
    # I_a = (n - 1) z_a lag_a / sum z^2 = 2 * -0.9258201 * -0.4629100 / 3 = 0.2857143.
    w = from_neighbours(list("abc"), {"a": ["b"], "b": ["a", "c"], "c": ["b"]})
    lm = ls.LocalMoran([1, 2, 6], w, permutations=9, rng=np.random.default_rng(0))
    assert_allclose(lm.Is[0], 2.0 / 7.0, rtol=1e-12)
    assert lm.quadrant_labels == ["LL", "LH", "HL"]
    assert lm.cluster_labels(alpha=0.5, p="sim").count("not significant") <= 3


# --------------------------------------------------------------------------- global Moran


@pytest.mark.parametrize("data", ["counts", "continuous"])
def test_global_moran_equals_esda(w: SpatialWeights, data: str) -> None:
    y = datasets(w.n)[data]
    np.random.seed(SEED)
    ref = esda.Moran(y, w.to_libpysal(), permutations=PERMS)
    np.random.seed(SEED)
    orders = np.stack([np.random.permutation(w.n) for _ in range(PERMS)])
    ours = ls.Moran(y, w, permutations=PERMS, permutation_orders=orders)
    assert ours.I == ref.I
    assert ours.EI == ref.EI
    for name in ("VI_norm", "VI_rand", "z_norm", "z_rand", "p_norm", "p_rand", "EI_sim",
                 "seI_sim", "z_sim", "p_z_sim"):
        assert_allclose(getattr(ours, name), getattr(ref, name), rtol=1e-10, err_msg=name)
    assert ours.p_sim == ref.p_sim
    assert_array_equal(ours.sim, ref.sim)


def test_global_moran_hand_worked() -> None:
    # a - b - c - d on a line, y = 1, 2, 3, 4, binary weights (S0 = 6).
    # z = -1.5, -0.5, 0.5, 1.5; sum z^2 = 5; sum_ij w_ij z_i z_j = 2 (0.75 - 0.25 + 0.75) = 2.5
    # I = n / S0 * 2.5 / 5 = 4 / 6 * 0.5 = 1/3; E[I] = -1/3.
    w = from_neighbours(list("abcd"), {"a": ["b"], "b": ["a", "c"], "c": ["b", "d"],
                                       "d": ["c"]})
    m = ls.Moran([1, 2, 3, 4], w, transform="B", permutations=9, rng=np.random.default_rng(0))
    assert_allclose(m.I, 1.0 / 3.0, rtol=RTOL)
    assert_allclose(m.EI, -1.0 / 3.0, rtol=RTOL)
    # S1 = 1/2 sum (w_ij + w_ji)^2 = 1/2 * 6 * 4 = 12; S2 = sum (2 k_i)^2 = 4 + 16 + 16 + 4 = 40
    # Var_norm = (16 * 12 - 4 * 40 + 3 * 36) / (3 * 5 * 36) - 1/9 = 140 / 540 - 1/9 = 0.1481481
    assert_allclose(m.VI_norm, 140.0 / 540.0 - 1.0 / 9.0, rtol=RTOL)
