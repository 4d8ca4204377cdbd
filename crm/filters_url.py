"""Filters in a page address: ``?start=2025-01-01&end=2025-03-31&sources=website,referral``.

A shared link, a bookmark, a digest e-mail and a saved view all carry the sidebar's choices as
query parameters. The codec walks the fields of ``Filters`` (so a new filter is carried without
touching this module): tuples are comma-separated codes, dates ISO days, ages whole numbers.
The app's time zone and "today" are not choices and are never carried. A parameter that does
not parse is left out and named in ``problems``, so a mangled link opens the default view with
a warning instead of failing.
"""

from __future__ import annotations

import dataclasses
import typing
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import date

from crm.filters import Filters

__all__ = ["FILTER_PARAMETERS", "ParsedFilters", "filters_from_query", "filters_to_query"]

# Query-parameter name of each carried field: short, stable names (a bookmark outlives a rename).
_SHORT_NAMES = {"start_date": "start", "end_date": "end", "age_min": "age_from", "age_max": "age_to"}
# Not choices of the user: the deployment's zone and the reference day.
_NOT_CARRIED = frozenset({"timezone_name", "today"})


def _carried_fields() -> dict[str, str]:
    """Field name → parameter name for every carried field of Filters, in declaration order."""
    return {
        item.name: _SHORT_NAMES.get(item.name, item.name)
        for item in dataclasses.fields(Filters)
        if item.name not in _NOT_CARRIED
    }


FILTER_PARAMETERS: tuple[str, ...] = tuple(_carried_fields().values())


@dataclass(frozen=True)
class ParsedFilters:
    filters: Filters
    problems: tuple[str, ...] = ()


def _kind(field_name: str) -> type:
    hints = typing.get_type_hints(Filters)
    hint = hints[field_name]
    if typing.get_origin(hint) is tuple:
        return tuple
    arguments = [argument for argument in typing.get_args(hint) if argument is not type(None)]
    return arguments[0] if arguments else hint


def filters_to_query(filters: Filters) -> dict[str, str]:
    """The query parameters of ``filters``: only the choices that differ from no filter."""
    query: dict[str, str] = {}
    for field_name, parameter in _carried_fields().items():
        value = getattr(filters, field_name)
        if value is None or value == ():
            continue
        if isinstance(value, tuple):
            query[parameter] = ",".join(str(code) for code in value)
        elif isinstance(value, date):
            query[parameter] = value.isoformat()
        else:
            query[parameter] = str(value)
    return query


def _first(value: str | list[str]) -> str:
    return value[-1] if isinstance(value, list) else value


def filters_from_query(params: Mapping[str, str | list[str]], *, base: Filters) -> ParsedFilters:
    """``base`` (the default view: zone, today, default period) with the choices in ``params``.

    A parameter that does not parse is left out and described in ``problems``; so is a
    combination Filters refuses (a start after the end, a minimum age above the maximum).
    """
    changes: dict[str, object] = {}
    problems: list[str] = []
    for field_name, parameter in _carried_fields().items():
        if parameter not in params:
            continue
        text = _first(params[parameter]).strip()
        kind = _kind(field_name)
        try:
            if kind is tuple:
                changes[field_name] = tuple(code.strip() for code in text.split(",") if code.strip())
            elif kind is date:
                changes[field_name] = date.fromisoformat(text)
            elif kind is int:
                number = int(text)
                if number < 0:
                    raise ValueError(text)
                changes[field_name] = number
            else:
                changes[field_name] = text
        except ValueError:
            problems.append(f"{parameter}={text!r} is not a valid value and was ignored")
    try:
        return ParsedFilters(replace(base, **changes), tuple(problems))
    except ValueError as error:
        return ParsedFilters(base, (*problems, f"{error} The link's filters were ignored."))
