"""Rank intervals: computed against simulated, on London's real tables, for time and accuracy.

For a few tables of the SNA figures (violence against the person and theft from the person,
by ward for 2025 and by LSOA for 2021), by volume and by rate: the time of the computed
intervals (``method="computed"``, the default) and of the 1,000-draw simulation
(``method="simulation"``), and how far each one's ends are from a long simulation's
percentiles, in probability: an end r for the percentile q is right when
F(r - 1) < q <= F(r) under the long simulation's ranks, and its error is how far q lies
outside [F(r - 1), F(r)].

Usage: python bench/rank_intervals_benchmark.py --data-dir DIR [--reference-draws 10000]
(DIR: a store loaded with London's data, e.g. by ``vru data fetch --area london``).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

from vru.adapters.store.evidence_store import EvidenceStore
from vru.domain.statistics import rank_distribution
from vru.domain.statistics import rankings as rk
from vru.services.sna_figures import SnaData

TABLES = [("ward", "violence_against_the_person", "2025-12"),
          ("ward", "theft_from_the_person", "2025-12"),
          ("lsoa", "violence_against_the_person", "2021-12"),
          ("lsoa", "burglary", "2021-12")]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-dir", type=Path, required=True)
    parser.add_argument("--reference-draws", type=int, default=10_000)
    args = parser.parse_args()
    sna = SnaData(EvidenceStore(args.data_dir), "london")
    print(f"{'table':52} {'by':6} {'areas':>5} | {'computed':>8} {'>0.005':>7} {'>0.01':>7} "
          f"{'max':>6} | {'1,000 simulations':>17} {'>0.005':>7} {'>0.01':>7} {'max':>6}")
    for geography, measure, to in TABLES:
        df = sna.figures(measure, geography, to, 12, rank_simulations=0)
        count = df["count"].to_numpy(dtype=float)
        pop = df["population"].to_numpy(dtype=float)
        for by in ("volume", "rate"):
            ok = np.isfinite(pop) & (pop > 0) if by == "rate" else np.ones(count.size, bool)
            o = count[ok]
            n = pop[ok] if by == "rate" else None
            ref = rk.simulated_ranks(o, n, rng=np.random.default_rng(1), by=by,
                                     n_simulations=args.reference_draws)
            row = []
            for method in ("computed", "simulation"):
                t = time.perf_counter()
                res = rk.rank_intervals(o, n, rng=np.random.default_rng(2), by=by,
                                        method=method)  # type: ignore[arg-type]
                seconds = time.perf_counter() - t
                e = rank_distribution.percentile_error(res.rank_low, res.rank_high, ref,
                                                       (0.025, 0.975))
                row.append(f"{seconds * 1000:6.0f} ms {np.mean(e > 0.005):7.2%} "
                           f"{np.mean(e > 0.01):7.2%} {e.max():6.3f}")
            print(f"{geography + ' ' + measure + ' to ' + to:52} {by:6} {o.size:5} | "
                  f"{row[0]} | {row[1]:>35}")
            del ref
    sna.close()
    print(f"\nReference: {args.reference_draws:,} simulations. Its own standard error at the "
          f"2.5th percentile is {np.sqrt(0.025 * 0.975 / args.reference_draws):.4f}; a "
          f"1,000-draw simulation's is {np.sqrt(0.025 * 0.975 / 1000):.4f}.")


if __name__ == "__main__":
    main()
