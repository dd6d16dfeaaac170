"""Homicide victims recorded by the Metropolitan Police, one row per victim.

Source: the MPS Homicide Dashboard data (London Datastore "MPS Homicide Dashboard Data",
https://data.london.gov.uk/dataset/mps-homicide-dashboard-data, OGL v3), in the 9-column
extract ``Age_Group,Sex,Method_of_Killing,Domestic_Abuse,Solved_Status,Borough,Ethnicity,
Year,BCU``. A homicide is murder, manslaughter, corporate manslaughter or infanticide, counted
per *victim* in the year the MPS recorded it. ``Age_Group`` is a band (Child, Adolescent/
Young Adult, Adult, Elderly), not an age; ``BCU`` is the MPS Basic Command Unit (the 12
two-to-four-borough commands of 2018-19) that polices the borough.

Every categorical column is checked against the values the MPS publishes, so a new or
misspelt value is reported (with the known values) instead of creating a category of one.
The rows describe victims' ethnicity, sex and age group: special category personal data in
aggregate form, to be shown only to roles allowed to see it.

Output: dataset ``homicide_victims``, one record per victim.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import ClassVar

import duckdb
import pyarrow as pa

from vru.adapters.sources.base import Parsed, ReferenceData
from vru.adapters.sources.checks import Check, normalised, run_checks, with_source_row
from vru.adapters.sources.csvfile import read_csv
from vru.adapters.sources.mps_counts import borough_table, geography_loaded, resolve_boroughs
from vru.domain.measures import normalise_category

COLUMNS = ["Age_Group", "Sex", "Method_of_Killing", "Domestic_Abuse", "Solved_Status",
           "Borough", "Ethnicity", "Year", "BCU"]

# Method of killing as the MPS publishes it -> the platform's method group. The knife group
# is what "knife homicide" figures count.
METHOD_GROUPS: dict[str, str] = {
    "Knife or Sharp Implement": "knife_or_sharp_instrument",
    "Shooting": "shooting",
    "Blunt Implement": "blunt_instrument",
    "Physical Assault, no weapon": "physical_assault_no_weapon",
    "Other Methods of Killing": "other_method",
    "Not Known/Not Recorded": "not_known",
}
DOMESTIC_ABUSE: dict[str, bool] = {"Domestic Abuse": True, "Not Domestic Abuse": False}
AGE_GROUPS = ["Child", "Adolescent/Young Adult", "Adult", "Elderly"]
SEXES = ["Female", "Male"]
ETHNICITIES = ["Asian", "Black", "Other", "White", "Not Reported/Not Known"]
SOLVED_STATUSES = ["Solved", "Unsolved"]

# The MPS's 12 Basic Command Units (2018-19 onwards) and the boroughs each polices.
BCU_BOROUGHS: dict[str, list[str]] = {
    "Central East": ["Hackney", "Tower Hamlets"],
    "Central North": ["Camden", "Islington"],
    "Central South": ["Lambeth", "Southwark"],
    "Central West": ["Hammersmith and Fulham", "Kensington and Chelsea", "Westminster"],
    "East": ["Barking and Dagenham", "Havering", "Redbridge"],
    "North": ["Enfield", "Haringey"],
    "North East": ["Newham", "Waltham Forest"],
    "North West": ["Barnet", "Brent", "Harrow"],
    "South": ["Bromley", "Croydon", "Sutton"],
    "South East": ["Bexley", "Greenwich", "Lewisham"],
    "South West": ["Kingston upon Thames", "Merton", "Richmond upon Thames", "Wandsworth"],
    "West": ["Ealing", "Hillingdon", "Hounslow"],
}

# column -> (what a value is, known values as published)
CATEGORICAL: dict[str, tuple[str, list[str]]] = {
    "Age_Group": ("age group", AGE_GROUPS),
    "Sex": ("sex", SEXES),
    "Method_of_Killing": ("method of killing", list(METHOD_GROUPS)),
    "Domestic_Abuse": ("domestic abuse flag", list(DOMESTIC_ABUSE)),
    "Solved_Status": ("solved status", SOLVED_STATUSES),
    "Ethnicity": ("ethnicity", ETHNICITIES),
    "BCU": ("MPS Basic Command Unit", list(BCU_BOROUGHS)),
}


def _values_table() -> pa.Table:
    rows = [(col, normalise_category(v), v) for col, (_, vs) in CATEGORICAL.items() for v in vs]
    return pa.table({"col": [r[0] for r in rows], "key": [r[1] for r in rows],
                     "value": [r[2] for r in rows]})


def _bcu_table() -> pa.Table:
    pairs = [(normalise_category(b), bcu) for bcu, bs in BCU_BOROUGHS.items() for b in bs]
    # Column names unlike the file's ("BCU"), which SQL would match case-insensitively.
    return pa.table({"b_borough": [p[0] for p in pairs], "b_bcu": [p[1] for p in pairs]})


class Homicide:
    format: ClassVar[str] = "homicide"
    description: ClassVar[str] = "MPS homicide victims, one row per victim (MPS dashboard)"
    dataset: ClassVar[str] = "homicide_victims"

    def parse(self, path: Path, ref: ReferenceData) -> Parsed:
        csv = read_csv(path, COLUMNS)
        name = csv.name
        raw = with_source_row(csv.table)
        this_year = date.today().year
        loaded = geography_loaded(ref)
        boroughs = resolve_boroughs(raw.column("Borough").to_pylist(), ref)
        con = duckdb.connect()
        try:
            con.register("raw", raw)
            con.register("vals", _values_table())
            con.register("bcus", _bcu_table())
            con.register("boroughs", borough_table(boroughs))
            checks = [
                Check("NOT regexp_full_match(trim(\"Year\"), '[0-9]{4}')", "Year",
                      "is not a year (a whole number such as 2019)",
                      "Correct the year the homicide was recorded"),
                Check(f"regexp_full_match(trim(\"Year\"), '[0-9]{{4}}') AND "
                      f"TRY_CAST(trim(\"Year\") AS INTEGER) NOT BETWEEN 1900 AND {this_year}",
                      "Year", f"is not a year between 1900 and {this_year}",
                      "Correct the year the homicide was recorded"),
                Check("trim(\"Borough\") = ''", "Borough", "is empty: every victim's homicide "
                      "is recorded in a borough", "Fill in the borough"),
            ]
            for col, (what, known) in CATEGORICAL.items():
                checks.append(Check(
                    f"{normalised(col)} NOT IN (SELECT key FROM vals WHERE col = '{col}')",
                    col, f"is not a known {what}",
                    f"Known values: {'; '.join(known)}. Correct the value, or if the MPS has "
                    "introduced a new one add it to vru.adapters.sources.homicide"))
            bcu_list = "; ".join(f"{bcu}: {', '.join(bs)}" for bcu, bs in BCU_BOROUGHS.items())
            checks.append(Check(
                f"{normalised('BCU')} IN (SELECT key FROM vals WHERE col = 'BCU') AND "
                f"EXISTS (SELECT 1 FROM bcus WHERE b_borough = {normalised('Borough')}) AND "
                f"NOT EXISTS (SELECT 1 FROM bcus WHERE b_borough = {normalised('Borough')} "
                f"AND lower(b_bcu) = {normalised('BCU')})",
                "BCU", "is not the Basic Command Unit that polices this row's borough",
                f"Check the Borough and BCU columns are not swapped or shifted. The BCUs "
                f"are {bcu_list}"))
            if loaded:
                checks.append(Check(
                    "trim(\"Borough\") <> '' AND \"Borough\" IN "
                    "(SELECT raw FROM boroughs WHERE NOT known)", "Borough",
                    "is not a London borough known to the loaded geography",
                    "Correct the borough name to the ONS spelling, e.g. "
                    "'Kingston upon Thames'"))
            problems = run_checks(con, "raw", name, checks)
            bad_rows = sorted({p.row for p in problems if p.row is not None})
            con.register("bad", pa.table({"row": pa.array(bad_rows, pa.int64())}))
            con.register("methods", pa.table({
                "value": list(METHOD_GROUPS), "method_group": list(METHOD_GROUPS.values())}))
            con.register("domestic", pa.table({
                "value": list(DOMESTIC_ABUSE), "flag": list(DOMESTIC_ABUSE.values())}))

            def canonical(col: str) -> str:
                return (f"(SELECT value FROM vals WHERE col = '{col}' "
                        f"AND key = {normalised(col)})")

            clean = con.sql(f"""
                WITH v AS (
                    SELECT *,
                        {canonical("Age_Group")} AS v_age_group,
                        {canonical("Sex")} AS v_sex,
                        {canonical("Ethnicity")} AS v_ethnicity,
                        {canonical("Method_of_Killing")} AS v_method,
                        {canonical("Domestic_Abuse")} AS v_domestic_abuse,
                        {canonical("Solved_Status")} AS v_solved_status,
                        {canonical("BCU")} AS v_bcu
                    FROM raw WHERE source_row NOT IN (SELECT row FROM bad)
                )
                SELECT
                    CAST(trim("Year") AS INTEGER) AS year,
                    trim("Borough") AS borough_name,
                    b.code AS area_code,
                    b.note AS area_note,
                    v_bcu AS bcu,
                    v_age_group AS age_group,
                    v_sex AS sex,
                    v_ethnicity AS ethnicity,
                    v_method AS method,
                    m.method_group AS method_group,
                    d.flag AS domestic_abuse,
                    v_solved_status AS solved_status,
                    'homicide' AS measure,
                    source_row
                FROM v
                JOIN boroughs b ON b.raw = v."Borough"
                JOIN methods m ON m.value = v.v_method
                JOIN domestic d ON d.value = v.v_domestic_abuse
                ORDER BY source_row
            """).to_arrow_table()
            years = con.execute(
                "SELECT min(CAST(trim(\"Year\") AS INTEGER)), max(CAST(trim(\"Year\") AS "
                "INTEGER)) FROM raw WHERE source_row NOT IN (SELECT row FROM bad)").fetchone()
        finally:
            con.close()
        first, last = (years or (None, None))
        return Parsed(
            tables={self.dataset: clean},
            rows_read=raw.num_rows,
            problems=problems,
            period_start=str(first) if first is not None else None,
            period_end=str(last) if last is not None else None,
            meta={
                "unit": "victims of homicide, counted in the year recorded",
                "years": [first, last],
                "borough_names_checked": (
                    "against the loaded local authority names" if loaded else
                    "not checked: no geography loaded, so area codes are NULL"),
                "sensitive": "victim ethnicity, sex and age group",
                "had_bom": csv.had_bom,
            },
        )
