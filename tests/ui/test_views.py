"""Figures of the analytics pages: series names and axes a reader sees."""

from __future__ import annotations

import pandas as pd

from crm.ui.views import revenue as revenue_view
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


TRENDS = pd.DataFrame(
    {
        "period": ["2025-01-01", "2025-02-01", "2025-03-01", "2025-04-01"],
        "revenue": [100.0, 120.0, 130.0, 5.0],
        "partial": [True, False, False, True],
    }
)


def test_the_revenue_trend_draws_partial_periods_dashed_with_open_markers() -> None:
    from crm.ui.views import PARTIAL_PERIOD
    from crm.ui.views.overview import revenue_trend_figure

    solid, dashed = revenue_trend_figure(TRENDS, "month").data
    # The solid line holds only the complete months; the April stub of 5 is no cliff on it.
    assert [value == value for value in solid.y] == [False, True, True, False]  # NaN != NaN
    assert dashed.name == PARTIAL_PERIOD and dashed.line.dash == "dash"
    # The dashed trace joins each partial month to its complete neighbour; open markers on the partial ones.
    assert list(dashed.y)[2:] == [130.0, 5.0] and list(dashed.y)[:2] == [100.0, 120.0]
    assert list(dashed.marker.symbol) == ["circle-open", "circle", "circle", "circle-open"]


def test_revenue_bars_of_partial_periods_are_a_hatched_trace_of_their_own() -> None:
    from crm.ui.views import PARTIAL_PERIOD
    from crm.ui.views.revenue import revenue_over_time_figure

    complete, partial = revenue_over_time_figure(TRENDS, "month").data
    assert partial.name == PARTIAL_PERIOD and partial.marker.pattern.shape == "/"
    assert [value == value for value in partial.y] == [True, False, False, True]
    assert list(complete.x) == list(partial.x), "same periods on both traces, so the bars are equally wide"
    assert len(revenue_over_time_figure(TRENDS.assign(partial=False), "month").data) == 1


def test_revenue_per_buyer_leaves_cells_without_buyers_empty_instead_of_zero() -> None:
    from crm.ui.views.demographics import revenue_per_buyer_figure, revenue_per_buyer_grid

    people = pd.DataFrame(
        {
            "age_group": ["25–34", "25–34", "18–24"],
            "gender": ["female", "male", "female"],
            "revenue_per_buyer": [120.0, None, 80.0],  # the men aged 25–34 did not buy
        }
    )
    grid = revenue_per_buyer_grid(people)
    assert list(grid.index) == ["18–24", "25–34"] and list(grid.columns) == ["Female", "Male"]
    assert pd.isna(grid.loc["25–34", "Male"]) and pd.isna(grid.loc["18–24", "Male"])
    figure = revenue_per_buyer_figure(people)
    assert figure.data[0].texttemplate == "%{z:$,.0f}"  # Plotly leaves NaN cells without text


def test_the_locations_title_counts_the_cities_shown() -> None:
    from crm.ui.views.demographics import locations_figure

    places = pd.DataFrame(
        {"country": ["KR", "GB"], "city": ["Seoul", "London"], "revenue": [50.0, 40.0], "buying_customers": [2, 1],
         "orders": [3, 1]}
    )  # fmt: skip
    assert locations_figure(places).layout.title.text == "Top 2 cities by revenue"


def test_the_segment_source_heatmap_keeps_names_on_category_axes() -> None:
    from crm.ui.views.segmentation import segment_source_figure

    matrix = pd.DataFrame(
        {"segment": ["Lost", "Champions"], "source": ["social_media", "website"], "customers": [2, 5],
         "revenue": [10.0, 90.0]}
    )  # fmt: skip
    figure = segment_source_figure(matrix)
    assert list(figure.data[0].y) == ["Champions", "Lost"]  # standard segment order
    assert list(figure.data[0].x) == ["Social media", "Website"]
    assert figure.layout.xaxis.type == "category" and figure.layout.yaxis.type == "category"


def test_the_conversion_colour_bar_reads_in_percent_and_zero_is_not_minus_fifty() -> None:
    from crm.ui.views.segmentation import source_figure

    sources = pd.DataFrame(
        {"source": ["search", "website"], "revenue": [0.0, 0.0], "new_customers": [3, 5],
         "conversion_rate": [0.0, 0.0], "average_order_value": [None, None]}
    )  # fmt: skip
    figure = source_figure(sources)
    assert figure.layout.coloraxis.colorbar.tickformat == ".0%"
    assert (figure.layout.coloraxis.cmin, figure.layout.coloraxis.cmax) == (0.0, 1.0)
    # No source brought revenue: the bars show new customers rather than an empty chart.
    assert list(figure.data[0].y) == [3, 5] and "no revenue" in figure.layout.title.text


def test_legends_and_axes_show_codes_as_words() -> None:
    from crm.ui.views.revenue import payment_method_figure
    from crm.ui.widgets import readable

    assert [readable(code) for code in ("credit_card", "paypal", "social_media", "average_order_value")] == [
        "Credit card", "PayPal", "Social media", "Average order value"
    ]  # fmt: skip
    methods = pd.DataFrame({"payment_method": ["credit_card", "bank_transfer"], "revenue": [10.0, 5.0]})
    assert list(payment_method_figure(methods).data[0].labels) == ["Credit card", "Bank transfer"]


def test_choosing_every_option_means_no_filter() -> None:
    from crm.ui.sidebar import every_or_chosen

    offered = ("email", "search", "website")
    assert every_or_chosen(["website", "email", "search"], offered) == ()
    assert every_or_chosen(["website"], offered) == ("website",)
    assert every_or_chosen([], offered) == ()


def test_money_on_cards_is_compact_enough_for_a_row_of_five() -> None:
    from crm.ui.widgets import format_money_compact, format_money_short

    assert format_money_short(9_876.54) == "$9,876.54"
    assert format_money_short(59_432.10) == "$59.4k"
    assert format_money_short(1_460_000) == "$1.46M"
    assert format_money_compact(2_790.50) == "$2.8k" and format_money_compact(950) == "$950"


def test_the_half_width_category_charts_of_revenue_lie_flat_so_names_never_turn_sideways() -> None:
    # At 1024 px two charts share a row; vertical bars turned their category names sideways (issue 17).
    transactions = pd.DataFrame(
        {
            "transaction_type": ["sale", "refund", "chargeback"],
            "status": ["completed", "completed", "pending"],
            "amount": [300.0, 40.0, 10.0],
            "transactions": [3, 1, 1],
        }
    )
    sources = pd.DataFrame(
        {"source": ["website", "social_media"], "revenue": [100.0, 250.0], "orders": [2, 5], "share": [0.3, 0.7]}
    )
    brands = pd.DataFrame(
        {"brand": ["Aurora", "Boreal"], "revenue": [90.0, 30.0], "orders": [3, 1], "average_order_value": [30.0, 30.0]}
    )
    by_type = revenue_view.transactions_figure(transactions)
    by_source = revenue_view.revenue_by_source_figure(sources)
    by_brand = revenue_view.revenue_by_brand_figure(brands)
    assert {trace.orientation for figure in (by_type, by_source, by_brand) for trace in figure.data} == {"h"}
    assert sorted(name for trace in by_type.data for name in trace.y) == ["Chargeback", "Refund", "Sale"]
    assert list(by_source.data[0].y) == ["Website", "Social media"]  # largest on top (plotly draws bottom up)
    assert list(by_brand.data[0].y) == ["Boreal", "Aurora"]
    assert by_source.layout.xaxis.tickformat == "$,.0f"


def test_the_category_chart_lies_flat_with_the_best_category_on_top_and_short_money_ticks() -> None:
    from crm.ui.views.behavior import categories_figure

    categories = pd.DataFrame(
        {"category": ["Home", "Apparel"], "item_revenue": [20.0, 90.0], "quantity": [2, 5], "share": [0.2, 0.8]}
    )
    figure = categories_figure(categories)
    assert figure.data[0].orientation == "h"
    assert list(figure.data[0].y) == ["Home", "Apparel"]  # drawn bottom-up: Apparel on top
    assert figure.layout.xaxis.tickformat == "$~s"


def test_the_age_and_gender_charts_lie_flat_with_the_legend_above_the_bars() -> None:
    from crm.ui.views.demographics import age_gender_figure

    people = pd.DataFrame(
        {
            "age_group": ["18–24", "25–34"],
            "gender": ["female", "male"],
            "customers": [3, 4],
            "buying_customers": [2, 3],
            "revenue": [120.0, 90.0],
            "revenue_per_buyer": [60.0, 30.0],
            "orders": [3, 3],
        }
    )
    for measure in ("customers", "revenue"):
        figure = age_gender_figure(people, measure)
        assert {trace.orientation for trace in figure.data} == {"h"}
        assert figure.layout.legend.orientation == "h" and figure.layout.legend.y == 1.0  # above the bars
        # Drawn bottom-up: the youngest group ("under 18", then 18–24, …) on top, "unknown" at the bottom.
        assert list(figure.layout.yaxis.categoryarray)[-2:] == ["18–24", "under 18"]
        assert figure.layout.yaxis.categoryarray[0] == "unknown"
    assert age_gender_figure(people, "revenue").layout.xaxis.tickformat == "$~s"
