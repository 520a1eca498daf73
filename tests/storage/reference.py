"""Brute-force search reference, written from the search rules rather than from the index.

Rules: fold both sides with NFKD and case folding, dropping combining marks, NUL, lone
surrogates and invisible format characters. Split the query on whitespace and commas, and
strip quotes and asterisks from both ends of each term. Keep an expedition when every term
is a substring of at least one field on its own. The fields include the station's initials when
its name has several words. Order: newest start first, then higher id.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable

from storage.records import Expedition


def fold(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", unicodedata.normalize("NFKD", text).casefold())
    return "".join(
        char for char in decomposed
        if char != "\x00"
        and not unicodedata.combining(char)
        and not 0xD800 <= ord(char) <= 0xDFFF
        and unicodedata.category(char) != "Cf"
    )


def query_terms(query: str) -> list[str]:
    words = fold(query).replace(",", " ").split()
    terms = [word.strip('"\'`*“”‘’«»') for word in words]
    return [term for term in terms if term]


def searchable_fields(expedition: Expedition) -> list[str]:
    fields = [expedition.name, expedition.station.name]
    station_words = expedition.station.name.split()
    initials = "".join(word[0] for word in station_words if word[0].isalpha())
    if len(station_words) > 1 and len(initials) > 1:
        fields.append(initials)
    for member in expedition.crew:
        astronaut = member.astronaut
        fields.append(astronaut.name)
        if astronaut.agency is not None:
            fields.append(astronaut.agency.name)
            if astronaut.agency.abbrev:
                fields.append(astronaut.agency.abbrev)
        fields.extend(nationality.name for nationality in astronaut.nationalities)
    return fields


def matches(expedition: Expedition, terms: list[str]) -> bool:
    folded = [fold(field) for field in searchable_fields(expedition)]
    return all(any(term in field for field in folded) for term in terms)


def reference_ids(expeditions: Iterable[Expedition], query: str) -> list[int]:
    terms = query_terms(query)
    if not terms:
        return []
    found = [expedition for expedition in expeditions if matches(expedition, terms)]
    found.sort(key=lambda expedition: (expedition.start, expedition.id), reverse=True)
    return [expedition.id for expedition in found]
