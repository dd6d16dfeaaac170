"""Plain language: Flesch reading ease against hand-worked values, and the wording rules."""

from __future__ import annotations

import pytest

from vru.domain.plain_language import (
    check_public_text,
    count_syllables,
    flesch_reading_ease,
    numbers_without_context,
    readability,
    wording_problems,
)


def test_flesch_formula_hand_worked() -> None:
    # 2 sentences, 11 words, 11 syllables: 206.835 - 1.015 * 5.5 - 84.6 * 1 = 116.65
    r = readability("The cat sat on the mat. The dog ran to it.")
    assert (r.sentences, r.words, r.syllables) == (2, 11, 11)
    assert flesch_reading_ease("The cat sat on the mat. The dog ran to it.") == pytest.approx(
        206.835 - 1.015 * 5.5 - 84.6 * 1.0)


@pytest.mark.parametrize(("word", "n"), [("cat", 1), ("table", 2), ("reading", 2),
                                         ("people", 2), ("borough", 2), ("jumped", 1),
                                         ("rate", 1), ("places", 2)])
def test_syllables(word: str, n: int) -> None:
    assert count_syllables(word) == n


def test_hard_text_scores_low_and_plain_text_high() -> None:
    hard = ("Statistically significant heteroscedasticity necessitates generalised "
            "linear modelling incorporating overdispersion parameterisation.")
    plain = "Violence fell in most wards last year. It rose in a few places near stations."
    assert flesch_reading_ease(hard) < 0 < 60 < flesch_reading_ease(plain)


def test_sensational_words_and_weapon_imagery_are_flagged_with_alternatives() -> None:
    problems = wording_problems("A shocking surge of knife crime in a war zone.")
    found = {p.phrase for p in problems}
    assert {"shocking", "surge", "knife", "war zone"} <= found
    assert wording_problems("Possession of weapons offences fell.") == []
    assert wording_problems("knife crime", allowed=["knife crime"]) == []


def test_numbers_need_context() -> None:
    assert numbers_without_context("It was 42.") == ["It was 42"]
    assert numbers_without_context("There were 42 offences in Camden.") == []
    assert check_public_text("There were 42 offences in Camden last year.") == []
