"""RFM, sources and loyalty tiers on tiny_shop.

Counted orders per buyer: Alice 3 orders / 176 / last 28 Mar; Bob 1 / 38 / 25 Jan;
Chloe 1 / 38 / 20 Feb; Dan 1 / 50 / 20 Mar (pending O7). NTILE(5) over 4 buyers gives 1–4:
R by last order: Bob 1, Chloe 2, Dan 3, Alice 4. F and M (ties by id: Bob before Chloe):
Bob 1, Chloe 2, Dan 3, Alice 4. FM = (F + M + 1) // 2 equals the same 1–4.
"""

from __future__ import annotations

import itertools
from datetime import date

import pytest

from crm.analytics.segmentation import (
    SEGMENTS,
    loyalty_tier_distribution,
    rfm_scores,
    rfm_segments,
    segment_customers,
    segment_for,
    segment_source_matrix,
    source_effectiveness,
)
from crm.filters import Filters
from tests.fixtures.tiny_shop import TinyShop

TODAY = date(2025, 3, 31)


def test_the_segment_grid_covers_every_score_and_names_all_eleven_segments() -> None:
    named = {segment_for(r, f, m) for r, f, m in itertools.product(range(1, 6), repeat=3)}
    assert named == set(SEGMENTS) and len(SEGMENTS) == 11


@pytest.mark.parametrize(
    ("scores", "segment"),
    [
        ((5, 5, 5), "Champions"),
        ((4, 5, 4), "Loyal"),
        ((5, 3, 2), "Potential Loyalist"),
        ((5, 1, 1), "New"),
        ((4, 1, 1), "Promising"),
        ((3, 3, 3), "Need Attention"),
        ((3, 1, 2), "About to Sleep"),
        ((2, 4, 3), "At Risk"),
        ((1, 5, 5), "Can't Lose Them"),
        ((2, 1, 1), "Hibernating"),
        ((1, 1, 2), "Lost"),
    ],
)
def test_segment_for_scores(scores: tuple[int, int, int], segment: str) -> None:
    assert segment_for(*scores) == segment


def test_rfm_scores_break_ties_by_customer_id(tiny_shop: TinyShop) -> None:
    frame = rfm_scores(tiny_shop.engine, Filters(today=TODAY)).set_index("customer_id")
    assert frame["rfm"].to_dict() == {1: "444", 2: "111", 3: "222", 4: "333"}
    # Bob (id 2) and Chloe (id 3) tie on frequency 1 and revenue 38: the lower id scores lower.
    assert frame.loc[2, "f_score"] < frame.loc[3, "f_score"] and frame.loc[2, "m_score"] < frame.loc[3, "m_score"]
    assert frame["segment"].to_dict() == {1: "Loyal", 2: "Lost", 3: "Hibernating", 4: "Need Attention"}
    # Recency to the end of 31 Mar: Alice 28 Mar noon → 3.5 days → 3 whole days.
    assert frame["recency_days"].to_dict() == {1: 3, 2: 65, 3: 39, 4: 11}
    assert frame.loc[1, "monetary"] == 176.0 and frame.loc[1, "frequency"] == 3


def test_rfm_segments_list_all_segments_with_value_and_action(tiny_shop: TinyShop) -> None:
    frame = rfm_segments(tiny_shop.engine, Filters(today=TODAY)).set_index("segment")
    assert list(frame.index) == list(SEGMENTS)
    assert frame["customers"].sum() == 4 and frame["revenue"].sum() == 302.0
    assert frame.loc["Loyal", "revenue"] == 176.0 and frame.loc["Lost", "customers"] == 1
    assert frame.loc["Champions", "customers"] == 0
    assert frame["action"].map(bool).all()


def test_segment_customers_export_one_segment(tiny_shop: TinyShop) -> None:
    loyal = segment_customers(tiny_shop.engine, Filters(today=TODAY), segment="Loyal")
    assert loyal[["customer_id", "first_name", "email"]].to_dict("records") == [
        {"customer_id": 1, "first_name": "Alice", "email": "alice@example.com"}
    ]
    with pytest.raises(ValueError, match="Unknown segment"):
        segment_customers(tiny_shop.engine, Filters(), segment="Nobody")


def test_segment_by_source_matrix(tiny_shop: TinyShop) -> None:
    frame = segment_source_matrix(tiny_shop.engine, Filters(today=TODAY))
    cells = {(row.segment, row.source): (row.customers, row.revenue) for row in frame.itertuples()}
    assert cells == {
        ("Loyal", "website"): (1, 176.0),
        ("Need Attention", "website"): (1, 50.0),
        ("Hibernating", "social_media"): (1, 38.0),
        ("Lost", "referral"): (1, 38.0),
    }


def test_rfm_follows_filters(tiny_shop: TinyShop) -> None:
    women = rfm_scores(tiny_shop.engine, Filters(genders=("female",), today=TODAY))
    assert sorted(women["customer_id"]) == [1, 3]  # Alice and Chloe; Eve never bought
    assert rfm_segments(tiny_shop.engine, Filters(sources=("nowhere",)))["customers"].sum() == 0


def test_source_effectiveness(tiny_shop: TinyShop) -> None:
    frame = source_effectiveness(tiny_shop.engine, Filters(today=TODAY)).set_index("source")
    website = frame.loc["website"]
    # Website: Alice, Dan, Eve; Alice and Dan bought: 2/3; revenue 176 + 50 over 4 orders.
    assert (website["new_customers"], website["converted_customers"]) == (3, 2)
    assert website["conversion_rate"] == pytest.approx(2 / 3)
    assert (website["orders"], website["revenue"], website["average_order_value"]) == (4, 226.0, 56.5)
    assert frame.loc["referral", "revenue"] == 38.0 and frame.loc["social_media", "conversion_rate"] == 1.0
    assert (frame["conversion_rate"] <= 1).all()


def test_loyalty_tiers_use_the_reference_thresholds(tiny_shop: TinyShop) -> None:
    frame = loyalty_tier_distribution(tiny_shop.engine, Filters(today=TODAY)).set_index("tier")
    # Points: Alice 1200 silver, Bob 300 / Chloe 0 / Eve 0 bronze, Dan 6000 gold.
    assert frame["customers"].to_dict() == {"bronze": 3, "silver": 1, "gold": 1, "platinum": 0}
    assert frame["revenue"].to_dict() == {"bronze": 76.0, "silver": 176.0, "gold": 50.0, "platinum": 0.0}
    assert frame.loc["silver", "min_points"] == 1000
