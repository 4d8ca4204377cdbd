"""One vocabulary for coded values: sources, payment methods, channels, ticket categories, ...

A code is lower_snake text (``social_media``); people see its label ("Social media"). Whatever
spelling a file or a grid brings ("Website", " WEBSITE ", "web site", "Social Media",
"social-media") maps onto the known code it spells, compared without case, spaces, dashes
or underscores; a genuinely new value becomes one new code in the same form, so a second
spelling of it later finds it. Fixed vocabularies (CHECK-constrained in crm/schema.py) are
their own known codes; the free-text ``customers.source`` knows the stored codes plus
``DEFAULT_SOURCES``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

import pandas as pd
from sqlalchemy import Connection, select

from crm.schema import customers

__all__ = [
    "DEFAULT_SOURCES",
    "SOURCE_ALIASES",
    "code_label",
    "normalise_code",
    "source_codes",
    "stored_sources",
    "to_code",
    "to_codes",
]

# The sources a shop starts with (the demo's too); imports and edits may add more.
DEFAULT_SOURCES = ("website", "search", "social_media", "referral", "email", "store", "partner")
# Other words for a known source (compared squashed: no case, spaces, dashes or underscores).
SOURCE_ALIASES: dict[str, str] = {
    "web": "website",
    "online": "website",
    "onlineshop": "website",
    "webshop": "website",
    "homepage": "website",
    "social": "social_media",
    "sns": "social_media",
    "instagram": "social_media",
    "facebook": "social_media",
    "google": "search",
    "searchengine": "search",
    "seo": "search",
    "shop": "store",
    "instore": "store",
    "offline": "store",
    "newsletter": "email",
    "mail": "email",
    "emailmarketing": "email",
    "friend": "referral",
    "wordofmouth": "referral",
    "partners": "partner",
}
# Longest code the narrowest coded column holds (customers.source is String(40)).
CODE_MAX_LENGTH = 40
# Letter case and every run of non-word characters go: "Social-Media " -> "social_media".
_SEPARATORS = re.compile(r"[\W_]+", re.UNICODE)
# Label words that are written in capitals.
_UPPER_WORDS = {"sms": "SMS", "sns": "SNS", "seo": "SEO", "vip": "VIP", "b2b": "B2B", "b2c": "B2C", "id": "ID"}


def normalise_code(text: object) -> str | None:
    """``text`` as a lower_snake code ("Social Media " -> "social_media"); None when blank."""
    if text is None or (isinstance(text, float) and pd.isna(text)):
        return None
    code = _SEPARATORS.sub("_", str(text).casefold()).strip("_")
    return code[:CODE_MAX_LENGTH].rstrip("_") or None


def _squashed(code: str) -> str:
    return code.replace("_", "")


def to_code(text: object, known: Iterable[str], aliases: Mapping[str, str] | None = None) -> str | None:
    """The known code ``text`` spells (case, spaces, dashes and underscores ignored, aliases
    included), else ``text`` as a new lower_snake code; None when blank."""
    code = normalise_code(text)
    if code is None:
        return None
    return _lookup(known, aliases).get(_squashed(code), code)


def _lookup(known: Iterable[str], aliases: Mapping[str, str] | None) -> dict[str, str]:
    table = {_squashed(alias): target for alias, target in (aliases or {}).items()}
    for value in known:
        code = normalise_code(value)
        if code:
            # A known code wins over an alias of the same spelling.
            table[_squashed(code)] = code
    return table


def to_codes(values: pd.Series, known: Iterable[str], aliases: Mapping[str, str] | None = None) -> pd.Series:
    """``to_code`` of every value, each distinct spelling worked out once; None for blanks."""
    table = _lookup(known, aliases)
    text = values.astype("string")
    found: dict[str, str | None] = {}
    for value in text.dropna().unique():
        code = normalise_code(value)
        found[value] = None if code is None else table.get(_squashed(code), code)
    mapped = [None if value is pd.NA else found[value] for value in text.tolist()]
    return pd.Series(mapped, index=values.index, dtype=object)


def code_label(code: object) -> str:
    """What a person reads for a code: 'social_media' -> 'Social media', 'sms' -> 'SMS'; '' for none."""
    if code is None or (isinstance(code, float) and pd.isna(code)):
        return ""
    words = [word for word in str(code).split("_") if word]
    if not words:
        return str(code)
    shown = [_UPPER_WORDS.get(word, word) for word in words]
    first = shown[0] if shown[0] in _UPPER_WORDS.values() else shown[0][:1].upper() + shown[0][1:]
    return " ".join([first, *shown[1:]])


def stored_sources(connection: Connection) -> list[str]:
    """The sources customers already have, plus the default ones: what a new spelling is matched against."""
    stored = connection.execute(select(customers.c.source).where(customers.c.source.is_not(None)).distinct())
    return sorted({*DEFAULT_SOURCES, *(value for (value,) in stored if value)})


def source_codes(connection: Connection, values: pd.Series) -> pd.Series:
    """Every source of ``values`` as its code in this database's vocabulary (None for blanks)."""
    return to_codes(values, stored_sources(connection), SOURCE_ALIASES)
