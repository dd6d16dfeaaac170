"""SNA figures from the real public data, checked for sense and against the files themselves.

The expected numbers are computed independently here with the ``csv`` module from the source
files in ``../shared/data``; the figures seen when these checks were written are in the
comments.
"""

from __future__ import annotations

import csv
from collections import Counter
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from vru.adapters.store.evidence_store import EvidenceStore
from vru.domain.statistics.provenance import ResultMeta, provenance_of
from vru.services.sna_figures import (
    SnaData,
    SnaError,
    covers,
    figures,
    measures_given,
    records,
    windows,
)

VAP = "violence_against_the_person"
VSO = "violence_and_sexual_offences"
NOT_BOROUGHS = {"London Heathrow and London City Airports", "Unknown",
                "Aviation Security (SO18)"}


def _mps_borough_vap(shared_data: Path, year: int) -> Counter[str]:
    """Violence against the person per borough in ``year`` from the latest MPS release."""
    path = (shared_data / "crime" / "london_datastore"
            / "MPS_Borough_Level_Crime_most_recent_24_months_2024-01_to_2025-12.csv")
    out: Counter[str] = Counter()
    with open(path, newline="", encoding="utf-8-sig") as handle:
        for row in csv.DictReader(handle):
            if row["MajorText"].strip().upper() == "VIOLENCE AGAINST THE PERSON":
                out[row["BoroughName"].strip()] += sum(
                    int(row[f"{year}{m:02d}"]) for m in range(1, 13))
    return out


# --------------------------------------------------------------------------- London boroughs


@pytest.fixture(scope="module")
def boroughs(london: SnaData) -> pd.DataFrame:
    df = london.figures(VAP, "borough", "2025-12")
    print(df[["area_name", "count", "previous_count", "change_pct", "change_p_adjusted",
              "population", "rate_per_100k", "rank_by_count", "rank_by_rate"]].to_string())
    return df


def test_london_boroughs_violence_2025_against_the_files(boroughs: pd.DataFrame,
                                                         shared_data: Path) -> None:
    cur = _mps_borough_vap(shared_data, 2025)
    prev = _mps_borough_vap(shared_data, 2024)
    by_name = boroughs.set_index("area_name")
    # 32 boroughs; the City of London is not in the MPS files and police.uk has no
    # violence against the person, so it is left out and said so.
    assert len(boroughs) == 32
    assert any("City of London" in n for n in boroughs.attrs["notes"])
    for name, n in cur.items():
        if name in NOT_BOROUGHS:
            continue
        assert by_name.loc[name, "count"] == n
        assert by_name.loc[name, "previous_count"] == prev[name]
    # London 2025: 242,345 against 232,211 in 2024 (+4.4%); 585 offences under units that
    # are not boroughs are in no borough.
    total = sum(v for k, v in cur.items() if k not in NOT_BOROUGHS)
    assert boroughs["count"].sum() == total == 242_345
    assert boroughs["previous_count"].sum() == 232_211
    assert any("585 offences" in n for n in boroughs.attrs["notes"])


def test_westminster_first_by_count_and_by_rate(boroughs: pd.DataFrame) -> None:
    # Westminster 11,262 (Croydon 11,240, close: both ranks 1-2); per 100,000 residents
    # (Census 2021, 204,240) 5,514 a year, well above Camden's 3,508 in second place.
    top = boroughs.iloc[0]
    assert top["area_name"] == "Westminster" and top["rank_by_count"] == 1
    assert top["rank_by_rate"] == 1 and top["rank_by_rate_high"] == 1
    assert (top["rank_by_count_low"], top["rank_by_count_high"]) == (1, 2)
    assert top["rate_per_100k"] == pytest.approx(11_262 / 204_240 * 1e5)
    assert top["rate_ci_low"] < top["rate_per_100k"] < top["rate_ci_high"]
    second = boroughs.sort_values("rank_by_rate").iloc[1]
    assert second["area_name"] == "Camden"
    # Westminster +3.7% (p 0.007, 0.012 after FDR); Richmond upon Thames least: 2,946
    assert top["change_pct"] == pytest.approx(100 * (11_262 - 10_861) / 10_861)
    assert 0.001 < top["change_p"] < top["change_p_adjusted"] < 0.05
    assert boroughs.iloc[-1]["area_name"] == "Richmond upon Thames"


def test_region_is_the_sum_of_the_boroughs(london: SnaData, boroughs: pd.DataFrame) -> None:
    region = london.figures(VAP, "region", "2025-12")
    assert len(region) == 1
    row = region.iloc[0]
    assert row["area_name"] == "London" and row["area_code"] == "E12000007"
    assert row["count"] == boroughs["count"].sum()
    assert row["previous_count"] == boroughs["previous_count"].sum()
    assert row["population"] == boroughs["population"].sum()  # the 32 boroughs' residents
    assert "City of London" in row["note"]
    # London 2,757 per 100,000 a year; the rise of 4.4% is far beyond chance
    assert row["rate_per_100k"] == pytest.approx(242_345 / row["population"] * 1e5)
    assert row["change_p"] < 1e-40 and row["change_direction"] == "rising"


def test_every_row_carries_its_provenance(boroughs: pd.DataFrame) -> None:
    row = boroughs.iloc[0]
    meta = ResultMeta.from_flat(row.to_dict())
    assert meta.measure == VAP and meta.definition.startswith("Police-recorded offences")
    assert meta.period_start.isoformat() == "2025-01-01"
    assert meta.period_end.isoformat() == "2025-12-31"
    assert meta.population is not None and meta.population.year == 2021
    assert "Census 2021" in meta.population.source
    assert {s.name for s in meta.sources} == {"crime_counts", "population"}
    assert all(meta.import_ids)
    table = provenance_of(boroughs)
    assert table.measure == VAP
    assert "Benjamini-Hochberg" in row["meta_method"]


def test_records_are_json_ready(boroughs: pd.DataFrame) -> None:
    import json

    rows = records(boroughs)
    text = json.dumps(rows, allow_nan=False)
    assert json.loads(text)[0]["area_name"] == "Westminster"
    for key in ("measure", "geography", "area_code", "area_name", "period_start",
                "period_end", "count", "previous_count", "change_pct", "change_p",
                "change_p_adjusted", "population", "rate_per_100k", "rate_ci_low",
                "rate_ci_high", "rank_by_count", "rank_by_rate", "meta_definition",
                "meta_import_ids", "meta_population_source"):
        assert key in rows[0]


# --------------------------------------------------------------------------- wards


def test_london_wards_2025(london: SnaData) -> None:
    wards = london.figures(VAP, "ward", "2025-12")
    # 679 wards in the MPS ward file; St James's (Westminster) first, 2,809 offences, then
    # West End (2,488); their populations are Census 2021 LSOAs placed by centroid.
    assert len(wards) == 679
    top = wards.iloc[0]
    assert top["area_name"] == "St James's" and top["parent_code"] == "E09000033"
    assert wards.iloc[1]["area_name"] == "West End"
    assert "centroid" in wards["population_base"].iloc[0]
    assert any("best-fit approximation" in n for n in wards.attrs["notes"])
    # every ward lies in a borough of the area; their populations add up to about London's
    assert set(wards["parent_code"]) <= set(london.lads)
    assert 8.0e6 < wards["population"].sum() < 8.9e6
    # Heathrow Villages carries the offences the MPS publishes under Aviation Security
    assert "Heathrow Villages" in set(wards["area_name"])


# --------------------------------------------------------------------------- LSOAs


def test_lsoa_2019_against_2018_from_the_annual_files(london: SnaData,
                                                      shared_data: Path) -> None:
    path = shared_data / "geo" / "crime" / "mps_london-2011-2021-major-violence.csv"
    y19: dict[str, float] = {}
    y18: dict[str, float] = {}
    with open(path, newline="", encoding="utf-8-sig") as handle:
        for row in csv.DictReader(handle):
            y19[row["LSOA11CD"]] = float(row["2019"])
            y18[row["LSOA11CD"]] = float(row["2018"])
    lsoas = london.figures(VAP, "lsoa", "2019-12")
    print(lsoas[["area_name", "count", "previous_count", "population", "rate_per_100k",
                 "rank_by_count", "rank_by_count_low", "rank_by_count_high"]].head(5))
    # 4,829 LSOAs (the City's 6 are not in the MPS files): 217,874 offences in 2019 against
    # 207,885 in 2018; Westminster 018A first with 1,083 (963 in 2018).
    assert len(lsoas) == len(y19) == 4_829
    got = lsoas.set_index("area_code")
    assert got["count"].to_dict() == y19
    assert got["previous_count"].to_dict() == y18
    assert lsoas["count"].sum() == 217_874 and lsoas["previous_count"].sum() == 207_885
    top = lsoas.iloc[0]
    assert (top["area_code"], top["area_name"], top["count"]) == (
        "E01004734", "Westminster 018A", 1083)
    assert lsoas["population_year"].iloc[0] == 2019  # ONS mid-2019 LSOA estimates
    # many LSOAs have too few offences for a reliable rate, and are flagged
    assert lsoas["unreliable"].sum() > 0
    assert (lsoas.loc[lsoas["count"] < 10, "unreliable"]).all()
    # with thousands of places tested, the FDR adjustment matters
    assert (lsoas["change_p_adjusted"] >= lsoas["change_p"]).all()


def test_lsoa_figures_need_calendar_years(london: SnaData) -> None:
    with pytest.raises(SnaError, match=r"yearly \(calendar years 2011 to 2021\)"):
        london.figures(VAP, "lsoa", "2019-06")
    with pytest.raises(SnaError, match="no counts for 2024, 2025"):
        london.figures(VAP, "lsoa", "2025-12", 24)


def test_city_of_london_lsoas_come_from_police_uk(london: SnaData) -> None:
    robbery = london.figures("robbery", "lsoa", "2019-12")
    assert len(robbery) == 4_835  # 4,829 MPS LSOAs + the City's 6 from police.uk
    city = robbery[robbery["parent_code"] == "E09000001"]
    assert len(city) == 6
    assert set(city["source"]) == {"police.uk street-level crime counts"}
    assert set(city["meta_sources"].str.split("; ").explode()) >= {"street_crime"}


# --------------------------------------------------------------------------- Leicestershire


def test_leicestershire_violence_and_sexual_offences_by_lad(leicestershire: SnaData,
                                                           shared_data: Path) -> None:
    lad_of: dict[str, str] = {}
    lookup = shared_data / "geo" / "lookups" / "ons_lsoa11_to_ward2019_to_lad2019_ew.csv"
    with open(lookup, newline="", encoding="utf-8-sig") as handle:
        for row in csv.DictReader(handle):
            lad_of[row["LSOA11CD"]] = row["LAD19CD"]
    current, _ = windows("2022-10", 12)
    expected: Counter[str] = Counter()
    for ordinal in current.ordinals():
        month = f"{ordinal // 12}-{ordinal % 12 + 1:02d}"
        path = shared_data / "crime" / "police_uk" / month / f"{month}-leicestershire-street.csv"
        with open(path, newline="", encoding="utf-8-sig") as handle:
            for row in csv.DictReader(handle):
                if row["Crime type"] == "Violence and sexual offences" and row["LSOA code"]:
                    expected[lad_of.get(row["LSOA code"], "elsewhere")] += 1
    lads = leicestershire.figures(VSO, "borough", "2022-10")
    print(lads[["area_name", "count", "previous_count", "change_pct", "rate_per_100k",
                "rank_by_rate"]])
    # Leicester 20,210 (5,483 per 100,000, Census 2021), then Charnwood 5,891 and North West
    # Leicestershire 3,529; Rutland least (851). Crimes the force placed in LSOAs of other
    # LADs (South Kesteven 31, ...) are not in the area.
    assert len(lads) == 9
    assert lads.iloc[0]["area_name"] == "Leicester" and lads.iloc[0]["count"] == 20_210
    assert lads.iloc[0]["rank_by_rate"] == 1
    assert lads.set_index("area_code")["count"].to_dict() == {
        code: expected[code] for code in leicestershire.lads}
    assert lads["population_base"].iloc[0].startswith("Census 2021 TS007")
    # 41,764 in the 12 months to October 2022 against 37,553 the year before (+11.2%)
    region = leicestershire.figures(VSO, "region", "2022-10")
    # the whole area is not a region (the East Midlands is more), so it goes by its key
    assert region["area_code"].iloc[0] == "leicestershire"
    assert region["count"].iloc[0] == lads["count"].sum() == 41_764
    assert region["previous_count"].iloc[0] == 37_553


def test_a_measure_the_source_cannot_give_is_an_error(leicestershire: SnaData) -> None:
    with pytest.raises(SnaError, match="can give: violence_and_sexual_offences") as err:
        leicestershire.figures(VAP, "borough", "2022-10")
    assert VAP in str(err.value)


def test_coverage_of_measures_by_a_scheme() -> None:
    # police.uk has violence and sexual offences, not violence against the person
    police_uk = {"violence_and_sexual_offences", "shoplifting", "theft_from_the_person",
                 "bicycle_theft", "other_theft"}
    assert covers("violence_and_sexual_offences", police_uk)
    assert not covers(VAP, police_uk)
    assert covers("theft", police_uk)  # handling stolen goods exists only in the old MPS scheme
    # the MPS current scheme covers violence against the person without "other violence"
    assert covers(VAP, {"homicide", "violence_with_injury", "violence_without_injury",
                        "stalking_and_harassment",
                        "death_or_serious_injury_by_unlawful_driving"})
    assert not covers(VAP, {"homicide"})
    assert "homicide" not in measures_given({VAP})


# --------------------------------------------------------------------------- homicide by group


def test_homicide_by_ethnicity_london(london: SnaData) -> None:
    df = london.figures("homicide", "region", "2022-12", 60, by="ethnicity")
    print(df[["group", "count", "population", "rate_per_100k", "rate_ratio",
              "rate_ratio_ci_low", "rate_ratio_ci_high"]])
    rows = df.set_index("group")
    # 2018-2022: Black victims 279, 4.7 per 100,000 a year (Census 2021 Black population
    # 1,188,140); White 250, 1.06: rate ratio 4.44 (3.74 to 5.26).
    black = rows.loc["Black"]
    assert black["reference_group"] == "White"
    assert black["rate_ratio"] > 3
    assert 1 < black["rate_ratio_ci_low"] < black["rate_ratio"] < black["rate_ratio_ci_high"]
    assert rows.loc["White", "rate_ratio"] == 1
    assert black["rate_per_100k"] == pytest.approx(
        black["count"] / (black["population"] * 5) * 1e5)
    assert "TS021" in df["population_base"].iloc[0]
    assert any("Not Reported/Not Known" in n for n in df.attrs["notes"])
    assert any("Other -> Mixed or Multiple + Other" in n for n in df.attrs["notes"])


def test_homicide_by_ethnicity_by_borough_adds_up_to_the_region(london: SnaData) -> None:
    boroughs = london.figures("homicide", "borough", "2022-12", 60, by="ethnicity")
    region = london.figures("homicide", "region", "2022-12", 60, by="ethnicity")
    assert len(boroughs) == 32 * 4
    by_group = boroughs.groupby("group")["count"].sum()
    assert by_group.to_dict() == region.set_index("group")["count"].to_dict()
    assert set(boroughs["reference_group"]) == {"White"}


def test_homicide_by_sex_and_the_refusals(london: SnaData) -> None:
    sex = london.figures("homicide", "region", "2022-12", 60, by="sex").set_index("group")
    # 2018-2022: 492 male and 146 female victims; males 3.4 times the female rate
    assert sex.loc["Male", "rate_ratio_ci_low"] > 2
    assert "SAPE" in sex["population_base"].iloc[0]
    with pytest.raises(SnaError, match="no age limits"):
        london.figures("homicide", "region", "2022-12", 12, by="age_band")
    with pytest.raises(SnaError, match="2023 is not complete"):
        london.figures("homicide", "region", "2023-12", 12, by="ethnicity")
    with pytest.raises(SnaError, match="only for homicide"):
        london.figures(VAP, "borough", "2022-12", 12, by="ethnicity")


def test_module_function_opens_and_closes_the_store(sna_store: EvidenceStore) -> None:
    df = figures(sna_store, "homicide", "region", "2025-12", 12)
    assert df["count"].iloc[0] > 50  # MPS borough homicides, 2025
    assert np.isnan(df["rank_by_count"].iloc[0])


def test_without_to_the_period_ends_with_the_latest_month(london: SnaData) -> None:
    lsoas = london.figures(VAP, "lsoa")  # yearly files: the last whole year, 2021
    assert (lsoas["period_start"].iloc[0], lsoas["period_end"].iloc[0]) == (
        "2021-01-01", "2021-12-31")
    assert london.figures(VAP, "borough")["period_end"].iloc[0] == "2025-12-31"
