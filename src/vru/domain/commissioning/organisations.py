"""Organisations that apply: their registration numbers and 360Giving identifiers.

An organisation identifier follows the Organisation Identifier standard (org-id.guide) that
360Giving uses: a register's prefix and the organisation's number in it.

* ``GB-CHC-<number>``: the Charity Commission for England and Wales (6 or 7 digits);
* ``GB-SC-<SC number>``: the Scottish Charity Regulator (OSCR), ``SC`` and 6 digits;
* ``GB-NIC-<number>``: the Charity Commission for Northern Ireland (``NIC`` numbers);
* ``GB-COH-<number>``: Companies House (8 characters, e.g. ``01234567`` or ``SC123456``);
* otherwise ``<publisher prefix>-org-<slug>``, an identifier from the funder's own records,
  for groups with no registration (360Giving's advice for small unregistered groups).

A charity number is preferred to a company number (most applicants are charities, and the
charity register is what 360Giving's tools link first). The checks are those of 360Giving's
data quality tool: a charity number is 6 or 7 digits once any two-letter prefix is removed; a
company number is 8 letters or digits.
"""

from __future__ import annotations

import re

CHARITY_PATTERN = re.compile(r"^\d{6,7}$")
SCOTTISH_CHARITY_PATTERN = re.compile(r"^SC\d{6}$")
NI_CHARITY_PATTERN = re.compile(r"^(NIC)?\d{5,6}$")
COMPANY_PATTERN = re.compile(r"^[A-Z0-9]{8}$")


def clean_number(text: str | None) -> str:
    """A registration number without spaces, upper case; whole numbers read from
    spreadsheets as decimals (``1136419.0``) lose the ``.0``."""
    value = (text or "").strip().upper().replace(" ", "")
    if value.endswith(".0") and value[:-2].isdigit():
        value = value[:-2]
    return value


def charity_number_ok(number: str) -> bool:
    """The 360Giving data quality rule: 6 or 7 digits after an optional 2-letter prefix."""
    value = clean_number(number)
    if value[:2].isalpha():
        value = value[2:]
    return bool(CHARITY_PATTERN.match(value))


def company_number_ok(number: str) -> bool:
    """8 letters or digits (Companies House numbers, e.g. 01234567 or SC123456). A number
    given with its leading zeros dropped (``1234567``) is padded by ``normalise_company``."""
    return bool(COMPANY_PATTERN.match(clean_number(number)))


def normalise_company(number: str) -> str:
    value = clean_number(number)
    return value.zfill(8) if value.isdigit() and len(value) < 8 else value


def slug(text: str) -> str:
    out = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")
    return out[:60] or "organisation"


def organisation_identifier(name: str, charity_number: str | None,
                            company_number: str | None, publisher_prefix: str) -> str:
    """The org-id of an applicant (see the module docstring for the order)."""
    charity = clean_number(charity_number)
    if charity:
        if SCOTTISH_CHARITY_PATTERN.match(charity):
            return f"GB-SC-{charity}"
        if charity.startswith("NIC") or (charity.startswith("NI") and charity[2:].isdigit()):
            return f"GB-NIC-{charity.removeprefix('NIC').removeprefix('NI')}"
        if CHARITY_PATTERN.match(charity):
            return f"GB-CHC-{charity}"
    company = normalise_company(company_number or "")
    if company and COMPANY_PATTERN.match(company):
        return f"GB-COH-{company}"
    return f"{publisher_prefix}-org-{slug(name)}"
