"""Figures of the analytics pages: series names and axes a reader sees."""

from __future__ import annotations

import pandas as pd

from crm.ui.views.revenue import growth_figure, refunds_figure

PERIODS = pd.DataFrame(
    {
        "period": ["2025-01-01", "2025-02-01"],
        "revenue_change": [None, 0.25],
        "orders_change": [None, -0.1],
        "refunded_value": [10.0, 0.0],
        "cancelled_value": [0.0, 16.0],
        "refunded_cash": [10.0, 0.0],
    }
)


def test_growth_chart_names_its_two_series_in_words_and_formats_percent() -> None:
    figure = growth_figure(PERIODS)
    assert {trace.name for trace in figure.data} == {"Order value (revenue)", "Orders"}
    assert figure.layout.yaxis.tickformat == "+.0%"
    orders = next(trace for trace in figure.data if trace.name == "Orders")
    assert list(orders.y)[1] == -0.1


def test_refund_chart_shows_readable_legend_names_for_each_series() -> None:
    figure = refunds_figure(PERIODS)
    assert [trace.name for trace in figure.data] == [
        "Refunded orders (value)",
        "Cancelled orders (value)",
        "Refunded cash (transactions)",
    ]


def test_a_segment_name_with_an_apostrophe_becomes_a_safe_file_name() -> None:
    from crm.ui.views.segmentation import segment_file_name

    assert segment_file_name("Can't Lose Them") == "segment_cant_lose_them"
