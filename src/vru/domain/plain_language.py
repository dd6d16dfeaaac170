"""Plain language for public outputs: readability and the wording rules of the public edition.

BRIEF section 9 ("changing the message"): public outputs inform and do not frighten. They
use clear, jargon-free words, no sensational wording and no weapon imagery, and every number
comes with its context (what it counts, where, when, compared with what).

* ``flesch_reading_ease``: Flesch (1948) reading ease, ``206.835 - 1.015 * (words /
  sentences) - 84.6 * (syllables / words)``. 60 to 70 is "plain English" (readable by most
  people aged 13 to 15); higher is easier. Syllables are counted by vowel groups with the
  usual English corrections (silent final "e", "-le", "-ed", "-es"), which agrees with
  dictionary counts for nearly all common words; the score is a guide, not a measurement.
* ``wording_problems``: words and phrases the public edition must not use (sensational,
  frightening, weapon imagery, unexplained jargon), each with a calmer alternative.
* ``numbers_without_context``: sentences that state a number with nothing that says what
  it is a number of (no unit, comparison, place or period).

Pure functions over text; no I/O.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

#: The lowest Flesch reading ease the public edition's text may have.
PUBLIC_MIN_READING_EASE = 60.0

_WORD = re.compile(r"[A-Za-z][A-Za-z'\u2019-]*")
_SENTENCE_END = re.compile(r"[.!?]+(?=\s|$)|\n\s*\n")
_NUMBER = re.compile(r"(?<![A-Za-z0-9])\d[\d,]*(?:\.\d+)?%?")


def _split_sentences(text: str) -> list[str]:
    parts = [p.strip() for p in _SENTENCE_END.split(text)]
    return [p for p in parts if _WORD.search(p) or _NUMBER.search(p)]


def count_syllables(word: str) -> int:
    """Syllables in an English word, by vowel groups with the usual corrections."""
    w = re.sub(r"[^a-z]", "", word.lower())
    if not w:
        return 0
    if len(w) <= 3:
        return 1
    if w.endswith("e") and not w.endswith(("le", "ee", "ye")):
        w = w[:-1]
    elif w.endswith(("ed", "es")) and not w.endswith(("ted", "ded", "ses", "zes", "ces",
                                                        "ges", "xes", "shes", "ches")):
        w = w[:-2]
    groups = re.findall(r"[aeiouy]+", w)
    n = len(groups)
    if w.endswith("le") and len(w) > 2 and w[-3] not in "aeiouy":
        n = max(n, 1)
    return max(1, n)


def _number_word_syllables(token: str) -> int:
    """A number read aloud: one syllable per digit group is close enough for scoring."""
    digits = re.sub(r"\D", "", token)
    return max(1, min(4, len(digits)))


@dataclass(frozen=True)
class Readability:
    """Counts behind a Flesch reading ease score."""

    sentences: int
    words: int
    syllables: int

    @property
    def words_per_sentence(self) -> float:
        return self.words / self.sentences if self.sentences else 0.0

    @property
    def syllables_per_word(self) -> float:
        return self.syllables / self.words if self.words else 0.0

    @property
    def reading_ease(self) -> float:
        if not self.words:
            return float("nan")
        return 206.835 - 1.015 * self.words_per_sentence - 84.6 * self.syllables_per_word


def readability(text: str) -> Readability:
    """Sentences, words and syllables of ``text`` (numbers count as words)."""
    sentences = _split_sentences(text)
    words = syllables = 0
    for s in sentences:
        for token in re.findall(r"[A-Za-z][A-Za-z'\u2019-]*|\d[\d,]*(?:\.\d+)?%?", s):
            words += 1
            if token[0].isdigit():
                syllables += _number_word_syllables(token)
            else:
                syllables += sum(count_syllables(p) for p in re.split(r"[-']", token) if p)
    return Readability(len(sentences), words, syllables)


def flesch_reading_ease(text: str) -> float:
    """Flesch reading ease of ``text`` (NaN for text with no words)."""
    return readability(text).reading_ease


#: Words the public edition does not use, with what to say instead. Matched as whole words,
#: case-insensitively.
DISCOURAGED: Mapping[str, str] = {
    # sensational or frightening
    "epidemic": "say what changed and by how much",
    "plague": "say what changed and by how much",
    "crisis": "say what changed and by how much",
    "surge": "rise",
    "surged": "rose",
    "soaring": "rising",
    "soared": "rose",
    "skyrocketing": "rising",
    "spiralling": "rising",
    "spiraling": "rising",
    "explosion": "rise",
    "rampant": "common",
    "rampage": "incident",
    "warzone": "area",
    "war zone": "area",
    "bloodbath": "incident",
    "bloody": "violent",
    "carnage": "violence",
    "horrific": "serious",
    "horrifying": "serious",
    "terrifying": "serious",
    "shocking": "notable",
    "brutal": "serious",
    "savage": "serious",
    "thugs": "people",
    "yobs": "young people",
    "feral": "(do not label people)",
    "gangland": "group-related",
    "no-go": "(do not label places)",
    "crime hotspot": "place with more violence",
    "danger zone": "place with more violence",
    "dangerous area": "place with more violence",
    # weapon imagery
    "knife": "weapon possession offences",
    "knives": "weapon possession offences",
    "blade": "weapon",
    "blades": "weapons",
    "stabbing": "violence with injury",
    "stabbings": "violence with injury",
    "machete": "weapon",
    "zombie": "weapon",
    # unexplained jargon
    "getis": "(say: places where high numbers cluster)",
    "gi*": "(say: places where high numbers cluster)",
    "moran": "(say: clusters)",
    "poisson": "(leave to the technical annex)",
    "p-value": "(say: unlikely to be chance)",
    "statistically significant": "clear change, unlikely to be chance",
    "mann-kendall": "(say: a steady rise or fall)",
    "gini": "(say: how concentrated)",
    "lsoa": "neighbourhood",
    "lsoas": "neighbourhoods",
    "choropleth": "map",
    "heteroscedastic": "(leave to the technical annex)",
}


@dataclass(frozen=True)
class WordingProblem:
    phrase: str
    suggestion: str
    context: str


def wording_problems(text: str, rules: Mapping[str, str] = DISCOURAGED,
                     allowed: Iterable[str] = ()) -> list[WordingProblem]:
    """Each discouraged word or phrase in ``text``, with a suggestion and where it is.

    ``allowed`` lists phrases to let through (a measure's official name, for example)."""
    out: list[WordingProblem] = []
    lowered = text.lower()
    for phrase in allowed:
        lowered = lowered.replace(phrase.lower(), " " * len(phrase))
    for phrase, suggestion in rules.items():
        pattern = re.compile(r"(?<![a-z])" + re.escape(phrase.lower()) + r"(?![a-z])")
        for m in pattern.finditer(lowered):
            a, b = max(0, m.start() - 40), min(len(text), m.end() + 40)
            out.append(WordingProblem(phrase, suggestion, text[a:b].replace("\n", " ")))
    return out


#: Words that give a number its context: a unit, a comparison, a place or a period.
CONTEXT_WORDS: frozenset[str] = frozenset({
    "per", "than", "of", "in", "from", "to", "between", "compared", "average", "rate",
    "rates", "residents", "people", "months", "month", "year", "years", "offences",
    "crimes", "events", "places", "areas", "wards", "boroughs", "neighbourhoods", "share",
    "fewer", "more", "same", "previous", "last", "before", "out", "each", "every", "%",
    "among", "for", "within", "times",
})


def numbers_without_context(text: str) -> list[str]:
    """Sentences that contain a number but no word saying what it is a number of."""
    out = []
    for s in _split_sentences(text):
        if not _NUMBER.search(s):
            continue
        words = {w.lower() for w in _WORD.findall(s)}
        if "%" in s:
            words.add("%")
        if not words & CONTEXT_WORDS:
            out.append(s)
    return out


def check_public_text(text: str, min_reading_ease: float = PUBLIC_MIN_READING_EASE,
                      allowed: Iterable[str] = ()) -> list[str]:
    """Every way ``text`` falls short of the public edition's wording rules (empty: none)."""
    problems: list[str] = []
    score = flesch_reading_ease(text)
    if score == score and score < min_reading_ease:
        problems.append(f"Flesch reading ease {score:.1f} is under {min_reading_ease:g}: use "
                        "shorter sentences and shorter words")
    for p in wording_problems(text, allowed=allowed):
        problems.append(f"{p.phrase!r} (use: {p.suggestion}) in: ...{p.context}...")
    for s in numbers_without_context(text):
        problems.append(f"a number without context: {s!r}")
    return problems
