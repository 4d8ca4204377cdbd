"""Issue 17's small ones, on the figures: a first cohort cut by the period's start is marked partial, the
payment-method donut labels every slice next to it, "pending" is not coloured as an error, and analysts do
not see order forms they cannot submit."""

from __future__ import annotations

from datetime import date

import pandas as pd

from crm.schema import users, utc_now
from crm.ui.views.cohorts import cohort_heatmap, cut_cohort
from crm.ui.views.revenue import STATUS_COLOURS, payment_method_figure, transactions_figure
from tests.fixtures.tiny_shop import load_tiny_shop
from tests.ui.test_records_pages import _open

COHORTS = pd.DataFrame(
    {
        "cohort": ["2025-01-01", "2025-02-01"],
        "months_since_first": [0, 0],
        "revenue": [10.0, 20.0],
        "partial": [False, False],
    }
)


def test_a_first_cohort_cut_by_the_period_start_is_marked_partial() -> None:
    assert cut_cohort(COHORTS, date(2025, 1, 7)) == "2025-01-01"
    figure = cohort_heatmap(COHORTS, "revenue", period_start=date(2025, 1, 7))
    assert list(figure.layout.yaxis.tickvals) == ["Jan 2025 (partial: from 7 Jan)", "Feb 2025"]


def test_a_period_starting_on_the_first_cuts_no_cohort() -> None:
    assert cut_cohort(COHORTS, date(2025, 1, 1)) is None
    assert cut_cohort(COHORTS, None) is None
    # A start in an earlier month (no first orders until February) cuts no cohort either.
    assert cut_cohort(COHORTS, date(2024, 12, 15)) is None
    assert list(cohort_heatmap(COHORTS, "revenue").layout.yaxis.tickvals) == ["Jan 2025", "Feb 2025"]


def test_every_donut_slice_carries_its_label_next_to_it() -> None:
    methods = pd.DataFrame({"payment_method": ["credit_card", "paypal", "bank_transfer"], "revenue": [900, 90, 10]})
    figure = payment_method_figure(methods)
    (pie,) = figure.data
    assert (pie.textposition, pie.textinfo) == ("outside", "label+percent")
    assert figure.layout.showlegend is False  # the names are on the slices, not in a legend to match up
    assert list(pie.labels) == ["Credit card", "PayPal", "Bank transfer"]


def test_pending_is_amber_and_only_failed_is_red() -> None:
    summary = pd.DataFrame(
        {
            "transaction_type": ["sale", "sale", "refund"],
            "status": ["pending", "failed", "completed"],
            "amount": [10.0, 5.0, 3.0],
            "transactions": [1, 1, 1],
        }
    )
    colours = {trace.name: trace.marker.color for trace in transactions_figure(summary).data}
    assert colours == {
        "Pending": STATUS_COLOURS["Pending"],
        "Failed": STATUS_COLOURS["Failed"],
        "Completed": STATUS_COLOURS["Completed"],
    }
    assert STATUS_COLOURS["Pending"] != STATUS_COLOURS["Failed"]


def test_analysts_do_not_see_order_forms_they_cannot_use(sqlite_engine) -> None:
    load_tiny_shop(sqlite_engine)
    now = utc_now()
    with sqlite_engine.begin() as connection:
        connection.execute(
            users.insert().values(
                username="ann", full_name="Ann", role="analyst", password_hash="x", created_at=now, updated_at=now
            )
        )
    url = sqlite_engine.url.render_as_string(hide_password=False)
    analyst = _open(url, "ann", "pages/orders.py")
    assert "New order" not in [expander.label for expander in analyst.expander]
    assert "Change status of several orders" not in [header.value for header in analyst.subheader]
    agent = _open(url, "sam", "pages/orders.py")
    assert "New order" in [expander.label for expander in agent.expander]
    assert "Change status of several orders" in [header.value for header in agent.subheader]
