"""Source adapters: one module per public file format, each with its own validation.

``ADAPTERS`` maps the FORMAT a user names (``vru ingest FORMAT FILE``) to its adapter.
"""

from __future__ import annotations

import importlib

from vru.adapters.sources.base import SourceAdapter

# format -> "module:class"; imported on first use so one adapter's dependencies
# (GeoPandas, openpyxl) do not slow every command.
_REGISTRY: dict[str, str] = {
    "police-uk-street": "vru.adapters.sources.police_uk_street:PoliceUkStreet",
    "police-uk-stop-search": "vru.adapters.sources.police_uk_stop_search:PoliceUkStopSearch",
    "mps-borough": "vru.adapters.sources.mps_counts:MpsBorough",
    "mps-ward": "vru.adapters.sources.mps_counts:MpsWard",
    "lsoa-annual": "vru.adapters.sources.lsoa_annual:LsoaAnnual",
    "homicide": "vru.adapters.sources.homicide:Homicide",
    "population": "vru.adapters.sources.population:Population",
    "imd": "vru.adapters.sources.imd:Imd",
    "stations": "vru.adapters.sources.stations:Stations",
    "boundaries": "vru.adapters.sources.boundaries:Boundaries",
    "lookup": "vru.adapters.sources.lookup:Lookup",
}

FORMATS = tuple(_REGISTRY)


def adapter_for(fmt: str) -> SourceAdapter:
    """The adapter for a FORMAT name; ``KeyError`` listing the known ones otherwise."""
    if fmt not in _REGISTRY:
        raise KeyError(f"unknown format {fmt!r}; known formats: {', '.join(FORMATS)}")
    module, cls = _REGISTRY[fmt].split(":")
    adapter: SourceAdapter = getattr(importlib.import_module(module), cls)()
    return adapter
