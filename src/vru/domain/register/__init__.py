"""The register of homicides and serious case reviews: vocabulary, cases, factor coding,
agreement between reviewers, prevalence and co-occurrence of factors. Pure: no I/O.

* ``vocabulary``: review types and statuses, case attributes and factor codes, as data.
* ``cases``: a case and a coding as plain values; the checks an import row passes.
* ``agreement``: Cohen's kappa per factor between two reviewers, with intervals.
* ``prevalence``: factor prevalence with Wilson intervals, ACE counts, "four or more".
* ``cooccurrence``: pair counts, phi and odds ratios (Woolf, Haldane-Anscombe).

What leaves the restricted area goes through ``vru.domain.disclosure`` first.
"""
