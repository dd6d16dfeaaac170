"""The platform's measures, and how every source's crime categories map onto them.

A *measure* is a count the platform reports (``violence_against_the_person``,
``knife``-related homicide, ...). Sources file offences under their own category schemes;
each scheme's categories map to exactly one measure here. Measures form a tree: the count
for a measure is the sum over rows mapped to it or to any of its descendants. A category
with no mapping is an error that names it: nothing is dropped silently.

Definitions follow the Home Office Counting Rules notifiable offence groups, which both the
Metropolitan Police's 2019 scheme and police.uk's crime types are built from.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass


@dataclass(frozen=True)
class Measure:
    id: str
    name: str
    definition: str
    parent: str | None = None


def _m(id: str, name: str, definition: str, parent: str | None = None) -> Measure:
    return Measure(id, name, definition, parent)


MEASURES: dict[str, Measure] = {
    m.id: m
    for m in [
        _m("violence_against_the_person", "Violence against the person",
           "Police-recorded offences in the Home Office 'violence against the person' group: "
           "homicide, violence with injury, violence without injury, stalking and harassment, "
           "and death or serious injury by unlawful driving."),
        _m("homicide", "Homicide",
           "Murder, manslaughter, corporate manslaughter and infanticide, counted per victim.",
           "violence_against_the_person"),
        _m("violence_with_injury", "Violence with injury",
           "Assaults and woundings where the victim is injured (GBH, ABH, attempted murder, "
           "wounding with intent).", "violence_against_the_person"),
        _m("violence_without_injury", "Violence without injury",
           "Common assault, assault without injury on an emergency worker, threats to kill and "
           "other violence where no injury is caused.", "violence_against_the_person"),
        _m("stalking_and_harassment", "Stalking and harassment",
           "Stalking, harassment, malicious communications and controlling or coercive "
           "behaviour.", "violence_against_the_person"),
        _m("death_or_serious_injury_by_unlawful_driving",
           "Death or serious injury by unlawful driving",
           "Causing death or serious injury by dangerous, careless or unlicensed driving.",
           "violence_against_the_person"),
        _m("other_violence", "Other violence (pre-2019 MPS scheme)",
           "The Metropolitan Police's former 'Other violence' minor category; it has no exact "
           "counterpart in the current scheme.", "violence_against_the_person"),
        _m("sexual_offences", "Sexual offences",
           "Rape and other sexual offences recorded by the police."),
        _m("rape", "Rape", "Rape of a female or male of any age.", "sexual_offences"),
        _m("other_sexual_offences", "Other sexual offences",
           "Sexual assault, sexual activity with children and other sexual offences except "
           "rape.", "sexual_offences"),
        _m("violence_and_sexual_offences", "Violence and sexual offences",
           "police.uk's combined crime type: violence against the person plus sexual offences. "
           "Street-level police.uk data cannot be split into the two."),
        _m("robbery", "Robbery",
           "Theft with the use or threat of force, of personal or business property."),
        _m("robbery_of_personal_property", "Robbery of personal property",
           "Robbery from an individual.", "robbery"),
        _m("robbery_of_business_property", "Robbery of business property",
           "Robbery of a business or its staff acting for it.", "robbery"),
        _m("possession_of_weapons", "Possession of weapons",
           "Possession of an article with a blade or point, an offensive weapon or a firearm, "
           "and threatening with them. The usual proxy for knife crime where knife-enabled "
           "flags are not published. (In the MPS's pre-2019 scheme 'Offensive Weapon' sat "
           "under violence against the person; it is mapped here.)"),
        _m("burglary", "Burglary", "Residential and business and community burglary."),
        _m("burglary_residential", "Residential burglary",
           "Burglary of a dwelling or of a building connected to or within its grounds.",
           "burglary"),
        _m("burglary_business_and_community", "Burglary business and community",
           "Burglary of a building that is not a dwelling.", "burglary"),
        _m("theft", "Theft", "Theft offences other than vehicle offences and burglary."),
        _m("shoplifting", "Shoplifting", "Theft from a shop or stall.", "theft"),
        _m("theft_from_the_person", "Theft from the person",
           "Theft from the person of the victim without force, such as pickpocketing.", "theft"),
        _m("bicycle_theft", "Bicycle theft", "Theft or taking of a pedal cycle.", "theft"),
        _m("other_theft", "Other theft", "Theft not elsewhere classified.", "theft"),
        _m("handling_stolen_goods", "Handling stolen goods",
           "Handling stolen goods (pre-2019 MPS scheme).", "theft"),
        _m("vehicle_offences", "Vehicle offences",
           "Theft of or from a vehicle, interfering with a vehicle and aggravated vehicle "
           "taking (police.uk 'Vehicle crime')."),
        _m("theft_of_a_vehicle", "Theft or unauthorised taking of a motor vehicle",
           "Theft or unauthorised taking of a motor vehicle.", "vehicle_offences"),
        _m("theft_from_a_vehicle", "Theft from a vehicle", "Theft from a motor vehicle.",
           "vehicle_offences"),
        _m("interfering_with_a_vehicle", "Interfering with a motor vehicle",
           "Interfering with or tampering with a motor vehicle.", "vehicle_offences"),
        _m("aggravated_vehicle_taking", "Aggravated vehicle taking",
           "Aggravated taking of a motor vehicle.", "vehicle_offences"),
        _m("arson_and_criminal_damage", "Arson and criminal damage",
           "Arson and criminal damage to dwellings, buildings, vehicles and other property."),
        _m("arson", "Arson", "Criminal damage by fire.", "arson_and_criminal_damage"),
        _m("criminal_damage", "Criminal damage", "Criminal damage other than by fire.",
           "arson_and_criminal_damage"),
        _m("drug_offences", "Drug offences",
           "Possession of and trafficking in controlled drugs."),
        _m("possession_of_drugs", "Possession of drugs", "Possession of controlled drugs.",
           "drug_offences"),
        _m("trafficking_of_drugs", "Trafficking of drugs",
           "Production, supply and possession with intent to supply controlled drugs.",
           "drug_offences"),
        _m("other_drug_offences", "Other drug offences",
           "Drug offences not elsewhere classified (pre-2019 MPS scheme).", "drug_offences"),
        _m("public_order_offences", "Public order offences",
           "Public fear, alarm or distress, racially or religiously aggravated public order "
           "offences, violent disorder and other public order offences."),
        _m("violent_disorder", "Violent disorder",
           "Violent disorder and riot.", "public_order_offences"),
        _m("miscellaneous_crimes_against_society", "Miscellaneous crimes against society",
           "Notifiable offences against society not elsewhere classified (for example "
           "perjury, going equipped, obscene publications)."),
        _m("fraud_and_forgery", "Fraud and forgery",
           "Fraud and forgery recorded by the police, including Action Fraud (NFIB) referrals."),
        _m("other_crime", "Other crime", "police.uk's 'Other crime': crimes not elsewhere "
           "classified."),
        _m("anti_social_behaviour", "Anti-social behaviour",
           "Incidents of anti-social behaviour reported to the police. Not notifiable crimes."),
    ]
}

# Each scheme maps a source category (case- and space-insensitive) to a measure id.
# Two-level schemes key on "MAJOR | MINOR".
CATEGORY_SCHEMES: dict[str, dict[str, str]] = {
    "police_uk": {
        "anti-social behaviour": "anti_social_behaviour",
        "bicycle theft": "bicycle_theft",
        "burglary": "burglary",
        "criminal damage and arson": "arson_and_criminal_damage",
        "drugs": "drug_offences",
        "other crime": "other_crime",
        "other theft": "other_theft",
        "possession of weapons": "possession_of_weapons",
        "public order": "public_order_offences",
        "robbery": "robbery",
        "shoplifting": "shoplifting",
        "theft from the person": "theft_from_the_person",
        "vehicle crime": "vehicle_offences",
        "violence and sexual offences": "violence_and_sexual_offences",
    },
    # The Metropolitan Police's current scheme (2019 onwards), MajorText | MinorText.
    "mps_2019": {
        "arson and criminal damage | arson": "arson",
        "arson and criminal damage | criminal damage": "criminal_damage",
        "burglary | burglary - residential": "burglary_residential",
        "burglary | burglary in a dwelling": "burglary_residential",
        "burglary | res burglary of a home": "burglary_residential",
        "burglary | res burglary of unconnected building": "burglary_residential",
        "burglary | burglary business and community": "burglary_business_and_community",
        "burglary | burglary non-dwelling": "burglary_business_and_community",
        "drug offences | possession of drugs": "possession_of_drugs",
        "drug offences | trafficking of drugs": "trafficking_of_drugs",
        "fraud and forgery | fraud and forgery": "fraud_and_forgery",
        "nfib fraud | nfib": "fraud_and_forgery",
        "miscellaneous crimes against society | misc crimes against society":
            "miscellaneous_crimes_against_society",
        "possession of weapons | possession of weapons": "possession_of_weapons",
        "public order offences | other offences public order": "public_order_offences",
        "public order offences | public fear alarm or distress": "public_order_offences",
        "public order offences | race or religious agg public fear": "public_order_offences",
        "public order offences | violent disorder": "violent_disorder",
        "robbery | robbery of business property": "robbery_of_business_property",
        "robbery | robbery of personal property": "robbery_of_personal_property",
        "sexual offences | other sexual offences": "other_sexual_offences",
        "sexual offences | rape": "rape",
        "theft | bicycle theft": "bicycle_theft",
        "theft | other theft": "other_theft",
        "theft | shoplifting": "shoplifting",
        "theft | theft from the person": "theft_from_the_person",
        "vehicle offences | aggravated vehicle taking": "aggravated_vehicle_taking",
        "vehicle offences | interfering with a motor vehicle": "interfering_with_a_vehicle",
        "vehicle offences | theft from a vehicle": "theft_from_a_vehicle",
        "vehicle offences | theft or unauth taking of a motor veh": "theft_of_a_vehicle",
        "violence against the person | homicide": "homicide",
        "violence against the person | violence with injury": "violence_with_injury",
        "violence against the person | violence without injury": "violence_without_injury",
        "violence against the person | stalking and harassment": "stalking_and_harassment",
        "violence against the person | death serious injury illegal driving":
            "death_or_serious_injury_by_unlawful_driving",
    },
    # The Metropolitan Police's former scheme (to 2018), Major Category | Minor Category.
    "mps_pre2019": {
        "burglary | burglary in a dwelling": "burglary_residential",
        "burglary | burglary - residential": "burglary_residential",
        "burglary | burglary in other buildings": "burglary_business_and_community",
        "burglary | burglary - business and community": "burglary_business_and_community",
        "criminal damage | arson": "arson",
        "criminal damage | criminal damage to dwelling": "criminal_damage",
        "criminal damage | criminal damage to a dwelling": "criminal_damage",
        "criminal damage | criminal damage to motor vehicle": "criminal_damage",
        "criminal damage | criminal damage to m/v": "criminal_damage",
        "criminal damage | criminal damage to other building": "criminal_damage",
        "criminal damage | criminal damage to other bldg": "criminal_damage",
        "criminal damage | other criminal damage": "criminal_damage",
        "drugs | drug trafficking": "trafficking_of_drugs",
        "drugs | possession of drugs": "possession_of_drugs",
        "drugs | other drugs": "other_drug_offences",
        "drugs | other drug offences": "other_drug_offences",
        "fraud or forgery | counted per victim": "fraud_and_forgery",
        "fraud or forgery | other fraud & forgery": "fraud_and_forgery",
        "other notifiable offences | going equipped": "miscellaneous_crimes_against_society",
        "other notifiable offences | other notifiable": "miscellaneous_crimes_against_society",
        "robbery | business property": "robbery_of_business_property",
        "robbery | personal property": "robbery_of_personal_property",
        "sexual offences | rape": "rape",
        "sexual offences | other sexual": "other_sexual_offences",
        "theft and handling | handling stolen goods": "handling_stolen_goods",
        "theft and handling | motor vehicle interference & tampering":
            "interfering_with_a_vehicle",
        "theft and handling | m/v interference & tampering": "interfering_with_a_vehicle",
        "theft and handling | other theft": "other_theft",
        "theft and handling | other theft person": "theft_from_the_person",
        "theft and handling | theft person": "theft_from_the_person",
        "theft and handling | theft from motor vehicle": "theft_from_a_vehicle",
        "theft and handling | theft from m/v": "theft_from_a_vehicle",
        "theft and handling | theft from shops": "shoplifting",
        "theft and handling | theft/taking of motor vehicle": "theft_of_a_vehicle",
        "theft and handling | theft/taking of m/v": "theft_of_a_vehicle",
        "theft and handling | theft/taking of pedal cycle": "bicycle_theft",
        "theft and handling | theft/taking of pedal cycles": "bicycle_theft",
        "violence against the person | murder": "homicide",
        "violence against the person | wounding/gbh": "violence_with_injury",
        "violence against the person | grievous bodily harm": "violence_with_injury",
        "violence against the person | assault with injury": "violence_with_injury",
        "violence against the person | common assault": "violence_without_injury",
        "violence against the person | harassment": "stalking_and_harassment",
        "violence against the person | offensive weapon": "possession_of_weapons",
        "violence against the person | other violence": "other_violence",
    },
    # The MPS's annual LSOA files (London Datastore "Recorded Crime: Geographic Breakdown",
    # as republished one file per category, ``mps_london-2011-2021-<major|minor>-<cat>.csv``):
    # the category is the file name's last part. Major files are whole Home Office offence
    # groups; the two minor files are parts of a major one (theft-bicycle is inside
    # theft-all, theft-vehicle inside vehicle-offences), so their measures are the children.
    # 'theft-vehicle' could mean theft OF or theft FROM a vehicle. Compared with the MPS
    # borough file's London totals it is theft or unauthorised taking of a motor vehicle:
    # 2012 21,847 vs 22,028, 2016 25,386 vs 25,549, 2019 30,000 vs 30,897 (theft from a
    # vehicle is 67,746 / 51,689 / 80,350), the small gap being offences with no LSOA.
    # 'sexual' is deliberately absent: the only copy of that file found was all zeros, and
    # loading it would report London as having no sexual offences.
    "mps_lsoa_file": {
        "violence": "violence_against_the_person",
        "robbery": "robbery",
        "weapons": "possession_of_weapons",
        "burglary": "burglary",
        "drugs": "drug_offences",
        "arson": "arson_and_criminal_damage",
        "misc": "miscellaneous_crimes_against_society",
        "public-order": "public_order_offences",
        "theft-all": "theft",
        "vehicle-offences": "vehicle_offences",
        "theft-bicycle": "bicycle_theft",
        "theft-vehicle": "theft_of_a_vehicle",
    },
}


def normalise_category(text: str) -> str:
    """The key a category is looked up by: trimmed, inner spaces collapsed, case-folded."""
    return " ".join(text.split()).casefold()


def category_key(*levels: str) -> str:
    return " | ".join(normalise_category(level) for level in levels)


class UnknownCategoryError(KeyError):
    def __init__(self, scheme: str, categories: Iterable[str]) -> None:
        self.scheme = scheme
        self.categories = sorted(set(categories))
        super().__init__(
            f"categories with no mapping in scheme {scheme!r}: {', '.join(self.categories)}"
        )

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0])


def map_categories(scheme: str, categories: Iterable[str]) -> dict[str, str]:
    """Map each raw category (already joined as ``category_key`` does) to its measure id.

    Raises ``UnknownCategoryError`` naming every category that has no mapping.
    """
    table = CATEGORY_SCHEMES[scheme]
    result: dict[str, str] = {}
    unknown: list[str] = []
    for raw in categories:
        key = " | ".join(normalise_category(part) for part in raw.split(" | "))
        if key in table:
            result[raw] = table[key]
        else:
            unknown.append(raw)
    if unknown:
        raise UnknownCategoryError(scheme, unknown)
    return result


def descendants(measure_id: str, measures: Mapping[str, Measure] = MEASURES) -> set[str]:
    """The measure and every measure below it in the tree: the ids whose rows it counts."""
    if measure_id not in measures:
        raise KeyError(f"unknown measure {measure_id!r}; known: {', '.join(sorted(measures))}")
    found = {measure_id}
    changed = True
    while changed:
        changed = False
        for m in measures.values():
            if m.parent in found and m.id not in found:
                found.add(m.id)
                changed = True
    return found
