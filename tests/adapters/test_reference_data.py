"""The packaged London school terms table and its loader."""

from __future__ import annotations

import numpy as np
import pandas as pd

from vru.adapters.reference_data import load_school_terms_london

YEARS = [f"{y}/{str(y + 1)[2:]}" for y in range(2017, 2026)]


def test_london_terms_load_and_cover_2017_18_to_2025_26_without_gaps() -> None:
    terms = load_school_terms_london()
    assert list(terms.columns) == ["academic_year", "period", "kind", "start", "end", "source"]
    assert sorted(terms["academic_year"].unique()) == YEARS
    assert (terms.groupby("academic_year").size() == 12).all()
    assert terms["start"].iloc[0] == pd.Timestamp("2017-09-04")
    assert terms["end"].iloc[-1] == pd.Timestamp("2026-08-31")
    # each period starts the day after the previous one ends: every day is covered once
    gaps = terms["start"].iloc[1:].to_numpy() - terms["end"].iloc[:-1].to_numpy()
    assert (gaps == np.timedelta64(1, "D")).all()


def test_london_terms_look_like_a_school_year() -> None:
    terms = load_school_terms_london()
    term = terms[terms["kind"] == "term"]
    assert (term["start"].dt.day_of_week < 5).all() and (term["end"].dt.day_of_week < 5).all()
    for year, rows in term.groupby("academic_year"):
        school_days = sum(
            int(np.busday_count(s.date(), (e + pd.Timedelta(days=1)).date()))
            for s, e in zip(rows["start"], rows["end"], strict=True)
        )
        # 195 school days (190 teaching + 5 INSET) plus term-time bank holidays
        assert 193 <= school_days <= 199, (year, school_days)
    length = (terms["end"] - terms["start"]).dt.days + 1
    half_terms = length[terms["kind"] == "half_term"]
    assert half_terms.between(9, 9).all()  # Saturday to the Sunday a week later
    summers = length[terms["period"] == "Summer holiday"]
    assert summers.between(38, 48).all()


def test_every_row_says_where_its_dates_come_from() -> None:
    terms = load_school_terms_london()
    assert terms["source"].str.contains("approximated|reconstructed").all()
    assert terms["source"].str.contains("school_terms_london.md").all()
