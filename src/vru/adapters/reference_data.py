"""Reference tables packaged with vru (``src/vru/reference``), read with importlib.resources.

The domain takes these tables as arguments; this module is the only place that reads them.
"""

from __future__ import annotations

from importlib import resources

import pandas as pd

from vru.domain.statistics.timing import validate_school_terms

SCHOOL_TERMS_LONDON = "school_terms_london.csv"


def load_school_terms_london() -> pd.DataFrame:
    """London school terms and holidays, academic years 2017/18 to 2025/26.

    A reconstruction of the London local-authority pattern, not an official table: read
    ``src/vru/reference/school_terms_london.md`` for what each year rests on. Columns:
    ``academic_year``, ``period``, ``kind`` (``term``/``half_term``/``holiday``), ``start``
    and ``end`` (inclusive, as timestamps) and ``source``. The table is checked with
    ``vru.domain.statistics.timing.validate_school_terms``.
    """
    resource = resources.files("vru").joinpath("reference", SCHOOL_TERMS_LONDON)
    with resource.open("r", encoding="utf-8") as handle:
        table = pd.read_csv(handle, dtype=str, keep_default_na=False)
    return validate_school_terms(table)
