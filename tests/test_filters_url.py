"""A page address carries the sidebar's choices there and back; a mangled one opens the default view."""

from __future__ import annotations

from datetime import date

from crm.filters import Filters
from crm.filters_url import FILTER_PARAMETERS, filters_from_query, filters_to_query

BASE = Filters(
    start_date=date(2025, 1, 1), end_date=date(2025, 12, 31), timezone_name="Asia/Seoul", today=date(2026, 1, 5)
)


def test_every_choice_survives_the_round_trip_through_the_address() -> None:
    chosen = Filters(
        start_date=date(2025, 2, 1),
        end_date=date(2025, 3, 31),
        sources=("website", "referral"),
        genders=("female",),
        age_min=25,
        age_max=44,
        brands=("Aurora",),
        customer_types=("individual",),
        customer_statuses=("active", "prospect"),
        timezone_name="Asia/Seoul",
        today=date(2026, 1, 5),
    )
    query = filters_to_query(chosen)
    assert query["start"] == "2025-02-01"
    assert query["sources"] == "website,referral"
    assert query["age_from"] == "25"
    assert filters_from_query(query, base=BASE).filters == chosen


def test_no_filter_makes_an_empty_address_and_the_zone_is_never_carried() -> None:
    assert filters_to_query(Filters(timezone_name="Asia/Seoul")) == {}
    assert "timezone_name" not in FILTER_PARAMETERS and "today" not in FILTER_PARAMETERS


def test_an_unparsable_parameter_is_left_out_and_named() -> None:
    parsed = filters_from_query({"start": "yesterday", "sources": "store", "age_from": "-3"}, base=BASE)
    assert parsed.filters.start_date == date(2025, 1, 1)  # the default period's start is kept
    assert parsed.filters.sources == ("store",)
    assert parsed.filters.age_min is None
    assert parsed.problems == (
        "start='yesterday' is not a valid value and was ignored",
        "age_from='-3' is not a valid value and was ignored",
    )


def test_a_start_after_the_end_opens_the_default_view_with_the_reason() -> None:
    parsed = filters_from_query({"start": "2025-05-01", "end": "2025-04-01"}, base=BASE)
    assert parsed.filters == BASE
    assert parsed.problems == ("The start date is after the end date. The link's filters were ignored.",)


def test_a_repeated_parameter_takes_its_last_value() -> None:
    parsed = filters_from_query({"genders": ["male", "female"]}, base=BASE)
    assert parsed.filters.genders == ("female",)
