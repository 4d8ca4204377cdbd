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


def test_cohort_heatmap_scales_retention_colours_to_the_months_after_the_first() -> None:
    from crm.ui.views.cohorts import cohort_heatmap

    cohorts = pd.DataFrame(
        {
            "cohort": ["2025-01-01", "2025-01-01", "2025-02-01"],
            "months_since_first": [0, 1, 0],
            "retention": [1.0, 0.4, 1.0],
            "partial": [False, False, False],
        }
    )
    figure = cohort_heatmap(cohorts, "retention")
    assert figure.layout.coloraxis.cmax == 0.4
    assert list(figure.data[0].y) == ["Jan 2025", "Feb 2025"]
    assert figure.layout.title.text == "% active by first-order month"
    assert len(figure.data) == 1, "no grey layer without partial months"


def test_cohort_heatmap_greys_out_months_still_running_and_keeps_them_off_the_colour_scale() -> None:
    from crm.ui.views.cohorts import PARTIAL_NOTE, cohort_heatmap

    cohorts = pd.DataFrame(
        {
            "cohort": ["2025-01-01", "2025-01-01", "2025-01-01", "2025-02-01", "2025-02-01"],
            "months_since_first": [0, 1, 2, 0, 1],
            "retention": [1.0, 0.3, 0.05, 1.0, 0.02],
            "partial": [False, False, True, False, True],
        }
    )
    figure = cohort_heatmap(cohorts, "retention")
    colour, grey = figure.data
    # The one-day months (5 %, 2 %) are not coloured and do not set the scale's top.
    assert colour.z[0][2] != colour.z[0][2] and colour.z[1][1] != colour.z[1][1]  # NaN
    assert figure.layout.coloraxis.cmax == 0.3
    assert grey.text[0][2] == "5%*" and grey.text[1][1] == "2%*" and grey.text[0][1] == ""
    assert figure.layout.title.subtitle.text == PARTIAL_NOTE


def test_cohort_heatmap_labels_every_cohort_month() -> None:
    from crm.ui.views.cohorts import cohort_heatmap

    months = [f"2025-{month:02d}-01" for month in range(1, 13)]
    cohorts = pd.DataFrame(
        {"cohort": months, "months_since_first": [0] * 12, "revenue": [10.0] * 12, "partial": [False] * 12}
    )
    figure = cohort_heatmap(cohorts, "revenue")
    assert list(figure.layout.yaxis.tickvals) == [f"{name} 2025" for name in
        ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]]  # fmt: skip
    assert figure.layout.yaxis.type == "category"


def test_cohort_heatmap_of_revenue_keeps_the_full_colour_range() -> None:
    from crm.ui.views.cohorts import cohort_heatmap

    cohorts = pd.DataFrame(
        {"cohort": ["2025-01-01"], "months_since_first": [0], "revenue": [120.0], "partial": [False]}
    )
    figure = cohort_heatmap(cohorts, "revenue")
    assert figure.layout.coloraxis.cmax is None
    assert "$,.0f" in figure.data[0].hovertemplate


def test_top_products_chart_puts_the_best_seller_on_top_and_counts_them_in_its_title() -> None:
    from crm.ui.views.behavior import products_figure

    products = pd.DataFrame(
        {"product": ["Best", "Second"], "item_revenue": [90.0, 40.0], "quantity": [3, 2], "category": ["A", "B"]}
    )
    figure = products_figure(products)
    # Plotly draws horizontal bars bottom-up: the last y value is the top bar.
    assert list(figure.data[0].y) == ["Second", "Best"]
    assert figure.layout.title.text == "Top 2 products"
