"""The commissioning framework's rules, as pure functions and plain data.

A funding round (``rounds``) has a budget, places eligible from a priority-places decision
record, a level of award (ward, borough or multi-borough) and published criteria with
weights (``criteria``). Applications pass eligibility checks (``eligibility``); assessors
without a conflict of interest (``conflicts``) score them against the rubric; scores that
differ by more than the round's gap go to moderation (``scoring``); the allocation
(``allocation``) turns the final scores and the places' need into awards within the budget,
respecting per-place floors and caps, with the reason for every award and refusal. Awards
are published in the 360Giving Data Standard (``threesixtygiving``) after its quality
checks (``quality``). The intervention catalogue with evidence ratings is ``catalogue``.

Nothing here does I/O or imports anything else from ``vru``.
"""
