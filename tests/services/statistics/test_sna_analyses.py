"""Concentration, deprivation, timing, trend and transport hubs from the real data, checked
for sense. The figures seen when the checks were written are in the comments."""

from __future__ import annotations

import numpy as np
import pytest

from vru.domain.statistics import concentration as conc
from vru.services.sna_figures import SnaData, SnaError

VAP = "violence_against_the_person"
VSO = "violence_and_sexual_offences"


def test_violence_is_concentrated_in_few_lsoas(london: SnaData) -> None:
    table = london.concentration(VAP, "lsoa", "2019-12").set_index("share")
    print(table[["share_of_events_in_top_s_of_places", "whole_places_holding_s_of_events",
                 "gini", "top10_overlap_share_with_previous"]])
    # 2019, 4,829 LSOAs, 217,874 offences: 30.0% of them in the top 10% of LSOAs, 7.4% in
    # the top 1%; Gini 0.39; 82% of 2018's top 10% were in the top 10% again in 2019.
    assert table["n_places"].iloc[0] == 4_829 and table["n_events"].iloc[0] == 217_874
    assert table.loc[0.1, "share_of_events_in_top_s_of_places"] == pytest.approx(0.300, abs=0.001)
    assert table.loc[0.1, "sentence"] == "30.0% of events happened in 10.0% of places"
    assert 0.35 < table["gini"].iloc[0] < 0.45
    # more events than places: the generalised Gini is the Gini
    assert table["generalised_gini"].iloc[0] == table["gini"].iloc[0]
    assert table["top10_overlap_share_with_previous"].iloc[0] > 0.7
    assert table["spearman_rho_with_previous"].iloc[0] > 0.8
    assert table["meta_measure"].iloc[0] == VAP


def test_sparse_homicide_uses_the_generalised_gini(london: SnaData) -> None:
    table = london.concentration("homicide", "ward", "2025-12")
    # 2025: 91 homicides over 679 wards. The Gini is 0.89 only because most wards must have
    # none; against the line of maximal equality (Bernasco & Steenbeek) it is 0.16.
    n_events, n_places = table["n_events"].iloc[0], table["n_places"].iloc[0]
    assert n_events < n_places
    gini, general = table["gini"].iloc[0], table["generalised_gini"].iloc[0]
    assert general == pytest.approx(1 - (n_places / n_events) * (1 - gini))
    assert general < 0.5 < gini


def test_lorenz_curve_runs_from_nought_to_one(london: SnaData) -> None:
    curve = london.lorenz(VAP, "borough", "2025-12")
    assert curve["share_of_events"].iloc[0] == 0 and curve["share_of_events"].iloc[-1] == 1
    assert np.all(np.diff(curve["share_of_events"]) >= 0)
    assert curve["place"].iloc[1] == "E09000033"  # Westminster has the most
    assert conc.gini(curve["count"].iloc[1:]) == pytest.approx(
        london.concentration(VAP, "borough", "2025-12")["gini"].iloc[0])


def test_violence_falls_with_affluence(london: SnaData) -> None:
    dep = london.deprivation_overlap(VAP, "2019-12")
    deciles = dep[dep["statistic"] == "rate_by_decile"].set_index("group")
    print(deciles[["areas", "count", "rate_per_100k", "rate_ci_low", "rate_ci_high"]])
    # 2019: 4,120 per 100,000 a year in London's LSOAs of England's most deprived decile,
    # 849 in the least deprived: every decile lower than the one before.
    assert np.all(np.diff(deciles["rate_per_100k"].to_numpy()) < 0)
    assert deciles.loc[1, "rate_per_100k"] > 4 * deciles.loc[10, "rate_per_100k"]
    assert deciles["count"].sum() == 217_874  # every LSOA has a decile and a population
    sii = dep.set_index("statistic").loc["sii_per_100k"]
    rii = dep.set_index("statistic").loc["rii"]
    # SII 2,738 (2,703 to 2,774) per 100,000 a year; RII 1.13
    assert 0 < sii["value_ci_low"] < sii["value"] < sii["value_ci_high"]
    assert rii["value"] > 1
    local = dep.set_index("statistic").loc["share_in_most_deprived_10pc_local"]
    # London's most deprived tenth of LSOAs had 14.8% of the offences
    assert local["share_of_events"] == pytest.approx(0.148, abs=0.002)
    assert local["value"] > 1.4
    with pytest.raises(SnaError, match="2011 LSOAs"):
        london.deprivation_overlap(VAP, "2019-12", geography="borough")


def test_seasonality_per_day(london: SnaData) -> None:
    table = london.timing(VAP, "region", "2025-12", 36).set_index("month")
    print(table[["name", "events", "days", "rate_per_day", "index",
                 "school_holiday_day_share"]])
    # 2023-2025: June the busiest (713 a day), January the quietest (607)
    assert table["rate_per_day"].idxmax() == 6
    assert table["rate_per_day"].idxmin() == 1
    assert table["days"].sum() == 1096  # 2024 was a leap year
    assert table["p_value"].iloc[0] < 1e-10
    assert table.loc[8, "school_holiday_day_share"] == 1.0  # August: all holiday
    assert table.loc[2, "days"] == 28 * 2 + 29
    assert any("need each event's date" in n for n in table.attrs["notes"])
    with pytest.raises(SnaError, match="yearly"):
        london.timing(VAP, "lsoa", "2019-12", 24)


def test_trend_over_the_whole_monthly_series(london: SnaData) -> None:
    row = london.trend(VAP, "region").iloc[0]
    print(row)
    # 2008-01 to 2025-12: violence against the person rose about 3.6% a year (negative
    # binomial with month-of-year effects; 1.033 to 1.040); both Mann-Kendall tests agree.
    assert (row["first_month"], row["last_month"], row["n_months"]) == ("2008-01", "2025-12",
                                                                       216)
    assert row["mk_trend"] == "increasing" and row["seasonal_mk_trend"] == "increasing"
    assert row["glm_family"] == "negative_binomial"
    assert 1.02 < row["glm_ci_low"] < row["glm_rate_ratio_per_year"] < row["glm_ci_high"] < 1.06
    trend = london.trend(VAP, "region")
    assert any("changes scheme" in n for n in trend.attrs["notes"])


def test_trend_by_borough_over_five_years(london: SnaData) -> None:
    table = london.trend(VAP, "borough", "2025-12", 60)
    assert len(table) == 32 and (table["n_months"] == 60).all()
    assert table["glm_rate_ratio_per_year"].notna().all()


def test_violence_near_stations_in_the_city(london: SnaData) -> None:
    hubs = london.transport_hubs(VSO, "2020-11", 12)
    print(hubs[["name", "network", "events_within", "events_nearest"]].head())
    # City of London, Dec 2019 to Nov 2020: 371 offences within 200 m of a station, 266
    # elsewhere: 1.58 times as many per km2 (1.34 to 1.85). Liverpool Street first.
    top = hubs.iloc[0]
    assert "Liverpool Street" in top["name"]
    assert top["events_near_any_station"] == 371 and top["events_elsewhere"] == 266
    assert 1 < top["rate_ratio_per_km2_ci_low"] < top["rate_ratio_per_km2"]
    assert hubs["events_nearest"].sum() == top["events_near_any_station"]
    assert {"street_crime", "stations", "boundaries"} <= set(
        top["meta_sources"].split("; "))


def test_no_stations_in_leicestershire(leicestershire: SnaData) -> None:
    with pytest.raises(SnaError, match="no stations are loaded in Leicester"):
        leicestershire.transport_hubs(VSO, "2022-10")
    with pytest.raises(SnaError, match="cannot give 'violence_against_the_person'"):
        leicestershire.transport_hubs(VAP, "2022-10")
