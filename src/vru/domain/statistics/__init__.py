"""Strategic Needs Assessment statistics: pure functions over plain data, each tested.

One module per family of statistics (``rates``, ``change``, ``trend``, ``rankings``,
``disproportionality``, ``concentration``, ``deprivation``, ``timing``, ``proximity``), and
``provenance`` for the definition, period, geography, population base, method and sources
every published figure carries. Each function's docstring gives its formula and cites the
guidance or paper it follows. Nothing here reads or writes files.
"""
