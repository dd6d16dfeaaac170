"""The register's vocabulary as data: review types, statuses, case attributes and factor codes.

Every coded value in the register of homicides and serious case reviews comes from one of
these lists, so that two reviewers, an import file and an analysis mean the same thing by the
same code. A code is short, lower case and stable (it is stored and exported); a label is what
people read; a definition says what counts.

Sources:

* Review types: Domestic Violence, Crime and Victims Act 2004 s.9 and the Home Office
  *Multi-agency statutory guidance for the conduct of Domestic Homicide Reviews* (2016; from
  2024 "Domestic Abuse Related Death Reviews"); Care Act 2014 s.44 (safeguarding adult
  reviews); Children Act 2004 s.16F as amended by the Children and Social Work Act 2017 and
  *Working Together to Safeguard Children* (2023) (child safeguarding practice reviews);
  Police, Crime, Sentencing and Courts Act 2022 ss.24-33 and the Home Office *Offensive
  Weapons Homicide Reviews: statutory guidance* (2023).
* Adverse childhood experiences: the categories of Felitti et al. (1998), *Am J Prev Med*
  14:245-58, as used in England and Wales by Bellis et al. (2014), *BMC Medicine* 12:72
  ("four or more ACEs"), grouped into the seven the register codes.
* Method of killing: the Metropolitan Police homicide dashboard's groups (as the homicide
  source adapter maps them), so register cases and MPS victim records can be compared.
* Ethnicity: the ONS 2021 Census five high-level groups, plus "not stated".
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Term:
    """One allowed value: a stable ``code``, a readable ``label`` and what it means."""

    code: str
    label: str
    definition: str = ""

    def __post_init__(self) -> None:
        if not re.fullmatch(r"[a-z][a-z0-9_]*", self.code):
            raise ValueError(f"term code {self.code!r} must be lower case letters, digits, _")
        if not self.label.strip():
            raise ValueError(f"term {self.code!r} needs a label")


def _normalise(text: str) -> str:
    return re.sub(r"[\s_\-]+", " ", text.strip().lower())


@dataclass(frozen=True)
class Vocabulary:
    """A named list of terms; values are read by code or label, case and spacing ignored."""

    name: str
    terms: tuple[Term, ...]
    source: str = ""
    _lookup: dict[str, str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        codes = [t.code for t in self.terms]
        if len(set(codes)) != len(codes):
            raise ValueError(f"{self.name}: codes must be distinct")
        lookup: dict[str, str] = {}
        for t in self.terms:
            for key in (_normalise(t.code), _normalise(t.label)):
                if lookup.get(key, t.code) != t.code:
                    raise ValueError(f"{self.name}: {key!r} names two terms")
                lookup[key] = t.code
        object.__setattr__(self, "_lookup", lookup)

    @property
    def codes(self) -> tuple[str, ...]:
        return tuple(t.code for t in self.terms)

    def __contains__(self, code: object) -> bool:
        return code in self.codes

    def term(self, code: str) -> Term:
        for t in self.terms:
            if t.code == code:
                return t
        raise KeyError(f"{code!r} is not a {self.name}; known: {', '.join(self.codes)}")

    def label(self, code: str) -> str:
        return self.term(code).label

    def parse(self, text: str) -> str | None:
        """The code ``text`` names (by code or label), or None if it names none."""
        return self._lookup.get(_normalise(text))


def _vocab(name: str, items: list[tuple[str, str] | tuple[str, str, str]],
           source: str = "") -> Vocabulary:
    return Vocabulary(name, tuple(Term(*item) for item in items), source)


REVIEW_TYPES = _vocab("review type", [
    ("dhr", "Domestic homicide review",
     "A review of a death of a person aged 16 or over that has, or appears to have, resulted "
     "from violence, abuse or neglect by a relative, intimate partner or member of the same "
     "household (Domestic Violence, Crime and Victims Act 2004 s.9)."),
    ("sar", "Safeguarding adult review",
     "A review of a case of an adult with care and support needs who died or was seriously "
     "harmed where abuse or neglect is known or suspected (Care Act 2014 s.44)."),
    ("cspr", "Child safeguarding practice review",
     "A local review of a serious child safeguarding case (Children Act 2004 s.16F; Working "
     "Together to Safeguard Children 2023)."),
    ("owhr", "Offensive weapons homicide review",
     "A review of a homicide of a person aged 18 or over involving, or likely to have "
     "involved, an offensive weapon (Police, Crime, Sentencing and Courts Act 2022 s.24)."),
    ("none", "No statutory review",
     "A case on the register with no statutory review (for example a homicide known from "
     "police records only)."),
], "Statute and Home Office / DfE statutory guidance, as in the module docstring.")

REVIEW_STATUSES = _vocab("review status", [
    ("notified", "Notified", "The case has been notified; whether to review is not decided."),
    ("not_commissioned", "Not commissioned",
     "A decision was made not to hold a review (the reasons are recorded)."),
    ("in_progress", "In progress", "A review has been commissioned and is under way."),
    ("completed", "Completed", "The review panel has agreed its report."),
    ("published", "Published", "The report (or its summary) has been published."),
])

RECOMMENDATION_STATUSES = _vocab("recommendation status", [
    ("open", "Open", "Agreed, with no action yet reported."),
    ("in_progress", "In progress", "Actions are under way."),
    ("closed_implemented", "Closed: implemented",
     "Closed with evidence that it was put into practice."),
    ("closed_not_implemented", "Closed: not implemented",
     "Closed without being put into practice (the reason is recorded)."),
])
CLOSED_RECOMMENDATION_STATUSES = frozenset({"closed_implemented", "closed_not_implemented"})

AGE_BANDS = _vocab("age band", [
    ("age_0_9", "0 to 9"),
    ("age_10_17", "10 to 17"),
    ("age_18_24", "18 to 24"),
    ("age_25_34", "25 to 34"),
    ("age_35_44", "35 to 44"),
    ("age_45_54", "45 to 54"),
    ("age_55_64", "55 to 64"),
    ("age_65_plus", "65 and over"),
    # The MPS homicide victim file gives a group, not an age; its boundaries are the MPS's.
    ("mps_child", "Child (MPS age group)",
     "The MPS homicide file's age group \"Child\"; no age is given."),
    ("mps_adolescent_young_adult", "Adolescent or young adult (MPS age group)",
     "The MPS homicide file's age group \"Adolescent/Young Adult\"; no age is given."),
    ("mps_adult", "Adult (MPS age group)",
     "The MPS homicide file's age group \"Adult\"; no age is given."),
    ("mps_elderly", "Elderly (MPS age group)",
     "The MPS homicide file's age group \"Elderly\"; no age is given."),
    ("not_known", "Not known"),
])

SEXES = _vocab("sex", [
    ("female", "Female"),
    ("male", "Male"),
    ("not_known", "Not known"),
])

ETHNIC_GROUPS = _vocab("ethnic group", [
    ("asian", "Asian, Asian British or Asian Welsh"),
    ("black", "Black, Black British, Black Welsh, Caribbean or African"),
    ("mixed", "Mixed or Multiple ethnic groups"),
    ("white", "White"),
    ("other", "Other ethnic group"),
    ("not_stated", "Not stated"),
], "ONS 2021 Census high-level ethnic groups.")

METHODS = _vocab("method", [
    ("knife_or_sharp_instrument", "Knife or sharp implement"),
    ("shooting", "Shooting"),
    ("blunt_instrument", "Blunt implement"),
    ("physical_assault_no_weapon", "Physical assault, no weapon"),
    ("other_method", "Other method"),
    ("not_known", "Not known"),
], "MPS homicide dashboard method-of-killing groups.")

RELATIONSHIPS = _vocab("relationship", [
    ("partner_or_ex_partner", "Partner or ex-partner"),
    ("family_member", "Family member"),
    ("friend_or_acquaintance", "Friend or acquaintance"),
    ("stranger", "Stranger"),
    ("other", "Other relationship"),
    ("domestic_unspecified", "Domestic (partner or family; which not recorded)",
     "The MPS flags the homicide as domestic abuse (a partner, ex-partner or family "
     "member) without saying which."),
    ("no_suspect", "No suspect identified"),
    ("not_known", "Not known"),
], "Victim's relationship to the principal suspect, as in ONS Homicide in England and Wales.")

CODING_ROUNDS = _vocab("coding round", [
    ("first", "First coding", "The first reviewer's independent coding."),
    ("second", "Second coding",
     "A second reviewer's independent coding of the same case, for agreement (kappa)."),
    ("consensus", "Consensus coding",
     "The agreed coding after the two reviewers reconcile their differences; used for "
     "analysis when present."),
])


@dataclass(frozen=True)
class Factor:
    """A coded causal or contextual factor, true or false for a case (or not known)."""

    code: str
    label: str
    group: str
    definition: str

    def __post_init__(self) -> None:
        Term(self.code, self.label)  # same code rules
        if self.group not in FACTOR_GROUPS:
            raise ValueError(f"factor {self.code!r}: unknown group {self.group!r}")


FACTOR_GROUPS: dict[str, str] = {
    "ace": "Adverse childhood experiences",
    "exclusion": "Exclusion",
    "agency_contact": "Prior contact with agencies",
    "overlap": "Victim-offender overlap",
}

FACTORS: tuple[Factor, ...] = (
    Factor("ace_abuse", "Abuse", "ace",
           "Physical, emotional or sexual abuse of the person as a child (under 18)."),
    Factor("ace_neglect", "Neglect", "ace",
           "Physical or emotional neglect of the person as a child."),
    Factor("ace_domestic_abuse", "Domestic abuse in the home", "ace",
           "The person, as a child, lived with domestic abuse between adults in the home."),
    Factor("ace_parental_separation", "Parental separation", "ace",
           "The person's parents separated or divorced while they were a child."),
    Factor("ace_mental_illness", "Mental illness in the household", "ace",
           "The person, as a child, lived with an adult with a mental illness."),
    Factor("ace_substance_misuse", "Alcohol or drug misuse in the household", "ace",
           "The person, as a child, lived with an adult who misused alcohol or drugs."),
    Factor("ace_household_imprisonment", "Household member in prison", "ace",
           "A member of the person's household was in prison while they were a child."),
    Factor("school_exclusion", "School exclusion", "exclusion",
           "The person was ever permanently excluded or suspended from school, or left "
           "mainstream education for alternative provision."),
    Factor("social_exclusion", "Social exclusion", "exclusion",
           "The person lived in circumstances of social exclusion (for example homelessness, "
           "long-term unemployment or isolation), as the review describes them."),
    Factor("contact_police", "Prior contact: police", "agency_contact",
           "The person had contact with the police before the incident (as victim, suspect, "
           "witness or for their welfare)."),
    Factor("contact_childrens_social_care", "Prior contact: children's social care",
           "agency_contact", "The person was known to children's social care."),
    Factor("contact_adult_social_care", "Prior contact: adult social care", "agency_contact",
           "The person was known to adult social care."),
    Factor("contact_health", "Prior contact: health services", "agency_contact",
           "The person had contact with primary care, emergency departments or other "
           "physical health services relevant to the review."),
    Factor("contact_mental_health", "Prior contact: mental health services", "agency_contact",
           "The person was known to mental health services."),
    Factor("contact_education", "Prior contact: education welfare", "agency_contact",
           "Education services raised concerns about the person (attendance, welfare, "
           "safeguarding)."),
    Factor("contact_youth_justice", "Prior contact: youth justice", "agency_contact",
           "The person was known to a youth offending or youth justice service."),
    Factor("contact_probation", "Prior contact: probation", "agency_contact",
           "The person was supervised by the Probation Service."),
    Factor("contact_housing", "Prior contact: housing", "agency_contact",
           "The person was known to housing services (homelessness, tenancy concerns)."),
    Factor("contact_substance_misuse_services", "Prior contact: drug and alcohol services",
           "agency_contact", "The person was known to drug and alcohol services."),
    Factor("victim_offender_overlap", "Victim-offender overlap", "overlap",
           "The victim had previously been a suspect or offender in violence, or the "
           "suspect had previously been a victim of violence."),
)

FACTOR_CODES: tuple[str, ...] = tuple(f.code for f in FACTORS)
ACE_CODES: tuple[str, ...] = tuple(f.code for f in FACTORS if f.group == "ace")
FACTOR_BY_CODE: dict[str, Factor] = {f.code: f for f in FACTORS}

#: Bellis et al. (2014): outcomes rise steeply for people with four or more ACEs.
ACE_HIGH_COUNT = 4

if len(set(FACTOR_CODES)) != len(FACTOR_CODES):  # pragma: no cover - a coding error
    raise RuntimeError("factor codes must be distinct")

#: Values accepted for a factor in an import file: yes, no, or not known (blank).
FACTOR_TRUE = frozenset({"yes", "y", "true", "1", "present"})
FACTOR_FALSE = frozenset({"no", "n", "false", "0", "absent"})
FACTOR_UNKNOWN = frozenset({"", "not known", "unknown", "nk"})


def parse_factor_value(text: str) -> tuple[bool | None, bool]:
    """(value, ok) for an import cell: yes -> True, no -> False, blank/"not known" -> None."""
    t = _normalise(text)
    if t in FACTOR_TRUE:
        return True, True
    if t in FACTOR_FALSE:
        return False, True
    if t in FACTOR_UNKNOWN:
        return None, True
    return None, False
