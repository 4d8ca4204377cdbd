"""CLV: the RFM summary by hand on tiny_shop, the fallback on degenerate data, the CDNOW paper's numbers.

tiny_shop's revenue orders (cancelled O4 and refunded O6 left out), as of 2025-03-31:
  Alice  O1 01-10 49.00, O2 02-14 100.00, O8 03-28 27.00
  Bob    O3 01-25 38.00
  Chloe  O5 02-20 38.00
  Dan    O7 03-20 50.00
"""

from __future__ import annotations

import json
from datetime import date, datetime
from pathlib import Path

import lifetimes
import numpy as np
import pandas as pd
import pytest
from sqlalchemy import Engine, select

from crm.analytics import clv
from crm.analytics.clv import (
    clv_analysis,
    clv_by_source,
    clv_overview,
    cohort_clv_trend,
    customer_clv,
    customer_value,
    find_customers,
    fit_and_score,
    fit_summary,
    fitting,
    order_days,
    rfm_summary,
    score_clv,
    top_customers,
    value_tiers,
)
from crm.cli import main
from crm.filters import Filters
from crm.imports import run_import
from crm.schema import customers, orders
from tests.fixtures.tiny_shop import TinyShop, load_tiny_shop

AS_OF = date(2025, 3, 31)
CDNOW_CALIBRATION_END = date(1997, 9, 30)
CDNOW_SAMPLE = Path(lifetimes.__file__).parent / "datasets" / "CDNOW_sample.txt"
# The published parameters match to about three significant digits.
RELATIVE_TOLERANCE = 0.01


def _by_customer(summary: pd.DataFrame) -> dict[int, dict[str, object]]:
    return {int(row["customer_id"]): row for row in summary.to_dict(orient="records")}


# --- the RFM summary, by hand -------------------------------------------------------------------
def test_rfm_summary_in_days_matches_the_hand_computed_tiny_shop(tiny_shop: TinyShop) -> None:
    rows = _by_customer(rfm_summary(tiny_shop.engine, as_of=AS_OF, unit="D"))
    assert sorted(rows) == [1, 2, 3, 4]  # Eve never bought
    alice = rows[1]
    # 3 purchase days -> 2 repeat purchases; Jan 10 -> Mar 28 = 21 + 28 + 28 = 77 days; -> Mar 31 = 80 days.
    assert (alice["frequency"], alice["recency"], alice["T"]) == (2, 77.0, 80.0)
    assert alice["historic_value"] == pytest.approx(176.00)  # 49 + 100 + 27
    assert alice["monetary_value"] == pytest.approx(63.50)  # repeat purchases only: (100 + 27) / 2
    assert alice["orders"] == 3
    assert (alice["first_purchase"], alice["last_purchase"]) == (date(2025, 1, 10), date(2025, 3, 28))
    # Bob's cancelled O4 does not count: one purchase on Jan 25; T = 6 + 28 + 31 = 65 days.
    assert (rows[2]["frequency"], rows[2]["recency"], rows[2]["T"], rows[2]["monetary_value"]) == (0, 0.0, 65.0, 0.0)
    assert rows[2]["historic_value"] == pytest.approx(38.00)
    assert rows[3]["T"] == 39.0  # Chloe: Feb 20 -> Mar 31 = 8 + 31
    # Dan's refunded O6 does not count: only the pending O7 on Mar 20 -> T = 11 days.
    assert (rows[4]["frequency"], rows[4]["T"], rows[4]["historic_value"]) == (0, 11.0, pytest.approx(50.00))


def test_rfm_summary_converts_the_same_days_to_weeks_and_months(tiny_shop: TinyShop) -> None:
    weeks = _by_customer(rfm_summary(tiny_shop.engine, as_of=AS_OF, unit="W"))
    assert weeks[1]["recency"] == pytest.approx(11.0)  # 77 / 7
    assert weeks[1]["T"] == pytest.approx(80 / 7)
    months = _by_customer(rfm_summary(tiny_shop.engine, as_of=AS_OF, unit="M"))
    assert months[1]["T"] == pytest.approx(80 / (365.25 / 12))


def test_orders_on_the_same_day_are_one_purchase(tiny_shop: TinyShop) -> None:
    with tiny_shop.engine.begin() as connection:
        connection.execute(
            orders.insert().values(
                order_number="SAME-DAY", customer_id=2, status="delivered",
                order_date=datetime(2025, 1, 25, 18, 0), subtotal=12, total=12,
            )
        )  # fmt: skip
    bob = _by_customer(rfm_summary(tiny_shop.engine, as_of=AS_OF, unit="D"))[2]
    assert (bob["orders"], bob["purchase_days"], bob["frequency"]) == (2, 1, 0)
    assert bob["historic_value"] == pytest.approx(50.00)  # 38 + 12


def test_purchase_days_are_local_days_of_the_filters_time_zone(tiny_shop: TinyShop) -> None:
    # Bob's O3 is at 12:00 UTC on Jan 25 (21:00 in Seoul); this one at 16:00 UTC is Jan 26 01:00 in Seoul.
    with tiny_shop.engine.begin() as connection:
        connection.execute(
            orders.insert().values(
                order_number="LATE", customer_id=2, status="delivered",
                order_date=datetime(2025, 1, 25, 16, 0), subtotal=12, total=12,
            )
        )  # fmt: skip
    utc = _by_customer(rfm_summary(tiny_shop.engine, Filters(), as_of=AS_OF, unit="D"))[2]
    seoul = _by_customer(rfm_summary(tiny_shop.engine, Filters(timezone_name="Asia/Seoul"), as_of=AS_OF, unit="D"))[2]
    assert (utc["purchase_days"], utc["frequency"]) == (1, 0)  # both on Jan 25 in UTC
    assert (seoul["purchase_days"], seoul["frequency"], seoul["recency"]) == (2, 1, 1.0)  # Jan 25 and Jan 26


def test_as_of_date_splits_calibration_and_holdout(tiny_shop: TinyShop) -> None:
    rows = _by_customer(rfm_summary(tiny_shop.engine, as_of=date(2025, 2, 28), unit="D", holdout_end=date(2025, 3, 31)))
    assert sorted(rows) == [1, 2, 3]  # Dan's first purchase (Mar 20) is after the as-of date
    alice = rows[1]
    # Calibration: O1, O2 -> 1 repeat; Jan 10 -> Feb 14 = 35 days; -> Feb 28 = 49 days. Holdout: O8.
    assert (alice["frequency"], alice["recency"], alice["T"]) == (1, 35.0, 49.0)
    assert alice["historic_value"] == pytest.approx(149.00)
    assert (alice["holdout_purchases"], alice["holdout_value"]) == (1, pytest.approx(27.00))
    assert rows[2]["holdout_purchases"] == 0


def test_orders_after_the_periods_end_are_never_read(tiny_shop: TinyShop) -> None:
    # Period ends Feb 28; as of Mar 31 customers age to Mar 31 but Alice's O8 (Mar 28) and Dan are out.
    rows = _by_customer(rfm_summary(tiny_shop.engine, Filters(end_date=date(2025, 2, 28)), as_of=AS_OF, unit="D"))
    assert sorted(rows) == [1, 2, 3]
    assert (rows[1]["frequency"], rows[1]["T"], rows[1]["historic_value"]) == (1, 80.0, pytest.approx(149.00))


def test_rfm_summary_respects_customer_filters(tiny_shop: TinyShop) -> None:
    rows = _by_customer(rfm_summary(tiny_shop.engine, Filters(sources=("website",)), as_of=AS_OF, unit="D"))
    assert sorted(rows) == [1, 4]  # Alice and Dan came from the website


def test_the_summary_records_its_unit_and_fitting_refuses_another(tiny_shop: TinyShop) -> None:
    days = rfm_summary(tiny_shop.engine, as_of=AS_OF, unit="D")
    assert days.attrs["unit"] == "D"
    with pytest.raises(ValueError, match="summary is in days but unit='W'"):
        fit_and_score(days, as_of=AS_OF, unit="W")
    assert not fit_and_score(days, as_of=AS_OF, unit="D").fitted  # the right unit is accepted (4 customers: fallback)


def test_order_days_are_the_first_and_last_revenue_order_days(tiny_shop: TinyShop) -> None:
    # O1 on Jan 10 is the first revenue order, O8 on Mar 28 the last (cancelled O4 / refunded O6 do not count).
    assert order_days(tiny_shop.engine) == (date(2025, 1, 10), date(2025, 3, 28))
    assert order_days(tiny_shop.engine, Filters(sources=("referral",))) == (date(2025, 1, 25), date(2025, 1, 25))


def test_an_as_of_date_before_the_first_order_says_so(tiny_shop: TinyShop) -> None:
    analysis = clv_analysis(tiny_shop.engine, as_of=date(2024, 12, 31))
    assert analysis.customers.empty and not analysis.fitted
    assert analysis.message == (
        "No customer had bought by 31 Dec 2024: the first revenue order matching these filters is on "
        "10 Jan 2025. Pick a later as-of date."
    )
    assert analysis.first_order_day == date(2025, 1, 10)


# --- degenerate data: a clear message and historic CLV ------------------------------------------
def test_too_few_customers_fall_back_to_historic_clv(tiny_shop: TinyShop) -> None:
    analysis = clv_analysis(tiny_shop.engine, as_of=AS_OF, unit="W")
    assert not analysis.fitted
    assert "Too little data" in analysis.message and "historic CLV" in analysis.message
    assert analysis.params == {}
    frame = analysis.customers.set_index("customer_id")
    assert frame["clv"].to_dict() == pytest.approx({1: 176.0, 2: 38.0, 3: 38.0, 4: 50.0})
    assert frame["p_alive"].isna().all()
    # Fallback churn rule: no purchase for more than 180 days; Bob's last is 65 days old.
    assert not frame["churn_risk"].any()


def test_fallback_overview_tiers_sources_and_cohorts_add_up_to_the_revenue(tiny_shop: TinyShop) -> None:
    analysis = clv_analysis(tiny_shop.engine, as_of=AS_OF, unit="W")
    overview = clv_overview(analysis)
    assert (overview.customers, overview.repeat_buyers) == (4, 1)
    assert overview.total_clv == pytest.approx(302.00)  # = tiny_shop revenue
    assert overview.average_order_value == pytest.approx(50.33)  # 302 / 6 counted orders
    assert overview.purchase_frequency == pytest.approx(1.5)  # 6 orders / 4 customers
    assert overview.average_lifespan_days == pytest.approx(77.0)  # Alice, the only repeat buyer
    tiers = value_tiers(analysis).set_index("tier")
    # Ranks 1..4 -> rank shares 0.25, 0.5, 0.75, 1.0: high (≤ 0.30) Alice, mid (≤ 0.60) Dan, low Bob + Chloe.
    assert tiers["customers"].to_dict() == {"top": 0, "high": 1, "mid": 1, "low": 2}
    assert tiers["value"].to_dict() == pytest.approx({"top": 0.0, "high": 176.0, "mid": 50.0, "low": 76.0})
    assert tiers["value_share"].sum() == pytest.approx(1.0)
    sources = clv_by_source(analysis).set_index("source")
    assert sources["total_clv"].to_dict() == pytest.approx({"website": 226.0, "referral": 38.0, "social_media": 38.0})
    cohorts = cohort_clv_trend(analysis).set_index("cohort")
    assert cohorts["customers"].to_dict() == {"2025-01-01": 2, "2025-02-01": 1, "2025-03-01": 1}
    assert cohorts.loc["2025-01-01", "average_historic"] == pytest.approx(107.0)  # (176 + 38) / 2
    assert list(top_customers(analysis)["customer_id"]) == [1, 4, 2, 3]  # ties (38) by lower id


def test_an_empty_database_gives_an_empty_result_not_an_error(engine: Engine) -> None:
    analysis = clv_analysis(engine)
    assert analysis.as_of is None and not analysis.fitted
    assert analysis.customers.empty
    assert "No revenue orders" in analysis.message
    assert clv_overview(analysis).total_clv == 0
    assert value_tiers(analysis)["customers"].sum() == 0


def _summary_frame(
    frequency: np.ndarray, recency: np.ndarray, age: np.ndarray, monetary: np.ndarray, historic: np.ndarray
) -> pd.DataFrame:
    """An RFM summary as ``rfm_summary`` returns it (in weeks), for customers 1…n of one source."""
    count = len(frequency)
    return pd.DataFrame(
        {
            "customer_id": np.arange(1, count + 1),
            "name": [f"Customer {number}" for number in range(1, count + 1)],
            "source": "website",
            "first_purchase": date(2025, 1, 1),
            "last_purchase": date(2025, 6, 1),
            "orders": frequency + 1,
            "purchase_days": frequency + 1,
            "frequency": frequency,
            "recency": recency,
            "T": age,
            "historic_value": historic,
            "monetary_value": monetary,
            "holdout_purchases": 0,
            "holdout_value": 0.0,
        }
    )


def _synthetic_summary(customer_count: int = 60) -> pd.DataFrame:
    """A plausible population: every third customer bought once, the others up to 5 more times."""
    generator = np.random.default_rng(3)
    frequency = np.where(np.arange(customer_count) % 3 == 0, 0, generator.integers(1, 6, customer_count))
    age = generator.uniform(10, 50, customer_count).round(3)
    recency = np.where(frequency > 0, (age * generator.uniform(0.2, 1.0, customer_count)).round(3), 0.0)
    monetary = np.where(frequency > 0, generator.uniform(20, 80, customer_count).round(2), 0.0)
    return _summary_frame(frequency, recency, age, monetary, (monetary * (frequency + 1)).round(2))


def test_a_fit_that_does_not_converge_falls_back_with_a_message(monkeypatch: pytest.MonkeyPatch) -> None:
    def never_converges(self: object, *args: object, **kwargs: object) -> None:
        raise lifetimes.utils.ConvergenceError("The model did not converge.")

    monkeypatch.setattr(lifetimes.BetaGeoFitter, "fit", never_converges)
    analysis = fit_and_score(_synthetic_summary(), as_of=date(2025, 6, 30))
    assert not analysis.fitted
    assert "could not be fitted" in analysis.message and "ConvergenceError" in analysis.message
    assert analysis.customers["clv"].equals(analysis.customers["historic_value"])


def test_nan_parameters_fall_back_with_a_message(monkeypatch: pytest.MonkeyPatch) -> None:
    def nan_fit(self: lifetimes.BetaGeoFitter, *args: object, **kwargs: object) -> lifetimes.BetaGeoFitter:
        self.params_ = pd.Series({"r": np.nan, "alpha": 1.0, "a": 1.0, "b": 1.0})
        return self

    monkeypatch.setattr(lifetimes.BetaGeoFitter, "fit", nan_fit)
    analysis = fit_and_score(_synthetic_summary(), as_of=date(2025, 6, 30))
    assert not analysis.fitted
    assert "not finite" in analysis.message
    assert analysis.customers["p_alive"].isna().all()


def test_a_plausible_population_gets_predictions_p_alive_and_tiers() -> None:
    analysis = fit_and_score(_synthetic_summary(), as_of=date(2025, 6, 30), horizon=6)
    assert analysis.fitted, analysis.message
    assert set(analysis.params) == {"r", "alpha", "a", "b"}
    frame = analysis.customers
    repeat = frame[frame["frequency"] > 0]
    assert repeat["p_alive"].between(0, 1).all()
    assert frame.loc[frame["frequency"] == 0, "p_alive"].isna().all()  # BG/NBD one-time buyers: n/a
    assert (frame["predicted_value"] >= 0).all()
    assert (repeat["churn_risk"] == (repeat["p_alive"] < clv.CHURN_PROBABILITY)).all()
    # 60 customers: top 10 % = 6, high 20 % = 12, mid 30 % = 18, low 40 % = 24.
    assert value_tiers(analysis).set_index("tier")["customers"].to_dict() == {
        "top": 6,
        "high": 12,
        "mid": 18,
        "low": 24,
    }


def _one_time_buyers_summary() -> pd.DataFrame:
    """20 repeat buyers whose mean gap between purchases is 1, 2, …, 20 weeks, and 10 one-time
    buyers who bought 5, 10, …, 50 weeks before the as-of date (all times in weeks)."""
    gap_weeks = np.arange(1, 21)
    repeat_frequency = 1 + np.arange(20) % 4
    repeat_recency = repeat_frequency * gap_weeks
    frequency = np.concatenate([repeat_frequency, np.zeros(10, dtype="int64")])
    recency = np.concatenate([repeat_recency, np.zeros(10)]).astype(float)
    age = np.concatenate([repeat_recency + np.array([2, 30] * 10), np.arange(5, 55, 5)]).astype(float)
    count = len(frequency)
    monetary = np.where(frequency > 0, 40.0 + np.arange(count) % 7 * 5, 0.0)
    return _summary_frame(frequency, recency, age, monetary, 50.0 * (frequency + 1))


def test_bgnbd_one_time_buyers_get_no_p_alive_and_an_inactivity_churn_rule() -> None:
    analysis = fit_and_score(_one_time_buyers_summary(), as_of=date(2026, 1, 1), unit="W")
    assert analysis.fitted, analysis.message
    # Repeat buyers' mean gaps are 7, 14, …, 140 days; numpy's 90th percentile lies at position
    # 0.9 × 19 = 17.1 of the sorted gaps: 126 + 0.1 × (133 − 126) = 126.7 days.
    assert analysis.one_time_churn_days == pytest.approx(126.7)
    frame = analysis.customers.set_index("customer_id")
    once = frame[frame["frequency"] == 0]
    assert once["p_alive"].isna().all()  # BG/NBD would say 100 % for every one of them
    # Bought 5, 10, 15 weeks ago (35, 70, 105 days): not yet; 20 weeks (140 days) and longer: churn risk.
    assert list(once["churn_risk"]) == [False] * 3 + [True] * 7
    repeat = frame[frame["frequency"] > 0]
    assert (repeat["churn_risk"] == (repeat["p_alive"] < clv.CHURN_PROBABILITY)).all()
    assert "more than 127 days" in clv.churn_rule(analysis, bought_once=True)
    assert clv_overview(analysis).churn_risk == 7 + int(repeat["churn_risk"].sum())


def test_pareto_nbd_gives_one_time_buyers_a_p_alive_that_falls_with_silence() -> None:
    analysis = fit_and_score(_synthetic_summary(), as_of=date(2025, 6, 30), model="pareto")
    assert analysis.fitted, analysis.message
    assert analysis.one_time_churn_days is None  # Pareto/NBD's own P(alive) covers everyone
    once = analysis.customers[analysis.customers["frequency"] == 0].sort_values("T")
    assert once["p_alive"].between(0, 1).all() and (once["p_alive"] < 1).all()
    assert once["p_alive"].is_monotonic_decreasing  # the longer the silence, the less likely alive
    assert (once["churn_risk"] == (once["p_alive"] < clv.CHURN_PROBABILITY)).all()


def test_a_horizon_change_rescores_the_fitted_model_without_fitting_again(monkeypatch: pytest.MonkeyPatch) -> None:
    horizons = (3, 12, 36)
    fitted_in_one_go = {
        horizon: fit_and_score(_synthetic_summary(), as_of=date(2025, 6, 30), horizon=horizon) for horizon in horizons
    }
    fitted = fit_summary(_synthetic_summary(), as_of=date(2025, 6, 30))
    assert fitted.fitted, fitted.message

    def no_refit(*args: object, **kwargs: object) -> None:
        raise AssertionError("score_clv must not fit again")

    monkeypatch.setattr(clv.model, "_fit_models", no_refit)  # fit_clv calls it there
    for horizon in horizons:
        rescored = score_clv(fitted, horizon=horizon)
        whole = fitted_in_one_go[horizon]
        assert rescored.horizon == horizon and rescored.params == whole.params
        assert rescored.customers["predicted_value"].tolist() == whole.customers["predicted_value"].tolist()


def test_pareto_nbd_above_the_sample_size_is_fitted_on_a_seeded_sample_and_says_so(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(clv.fitting, "PARETO_FIT_CUSTOMERS", 40)  # read where the sample is drawn
    first = fit_and_score(_synthetic_summary(), as_of=date(2025, 6, 30), model="pareto")
    again = fit_and_score(_synthetic_summary(), as_of=date(2025, 6, 30), model="pareto")
    assert first.fitted, first.message
    assert first.fitted_customers == 40
    assert first.sample_note.startswith("Pareto/NBD was fitted on a random sample of 40 of the 60 customers")
    assert again.params == first.params  # seeded: the same data gives the same fit
    assert first.customers["predicted_value"].notna().sum() == 60  # every customer is scored
    monkeypatch.undo()
    whole = fit_and_score(_synthetic_summary(), as_of=date(2025, 6, 30), model="pareto")
    assert whole.fitted_customers == 60 and whole.sample_note == ""


def test_boundary_parameters_are_named_in_a_caution() -> None:
    # The audit's runaway fits: r = 8e6 with a = 3e8 (BG/NBD) and q = 1e13 (Gamma-Gamma).
    caution = fitting._boundary_caution("BG/NBD", {"r": 8e6, "alpha": 3e8, "a": 3e8, "b": 2.0})
    assert caution.startswith("The BG/NBD fit is at a boundary (r = 8e+06, a = 3e+08;")
    assert caution.endswith("treat predictions with caution.")
    assert "q = 1e+13" in fitting._boundary_caution("Gamma-Gamma", {"p": 1.7, "q": 1e13, "v": 3.9e14})
    assert "a = 5e-09" in fitting._boundary_caution("BG/NBD", {"r": 0.8, "alpha": 26.0, "a": 5e-9, "b": 1.2})
    # CDNOW's published fits are well inside the bounds; scale parameters (alpha, v) are not checked.
    assert fitting._boundary_caution("BG/NBD", {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}) == ""
    assert fitting._boundary_caution("Gamma-Gamma", {"p": 6.25, "q": 3.74, "v": 15.44}) == ""


def test_a_fit_that_runs_off_to_a_boundary_is_kept_with_a_caution() -> None:
    # In _one_time_buyers_summary nobody seems to drop out after a repeat purchase: BG/NBD's
    # optimum lies at r, b → ∞ and a → 0.
    analysis = fit_and_score(_one_time_buyers_summary(), as_of=date(2026, 1, 1), unit="W")
    assert analysis.fitted
    # a → 0 on every machine; where r and b end up along the flat ridge depends on the CPU's BLAS
    # kernels (r ran off to 8e6 on one machine and stopped at 4 with b → 1e-4 on another).
    assert analysis.params["a"] < 1e-3
    assert analysis.params["r"] > 1e4 or analysis.params["b"] < 1e-3
    boundary = [caution for caution in analysis.cautions if "at a boundary" in caution]
    assert len(boundary) == 1 and boundary[0].startswith("The BG/NBD fit is at a boundary (")
    assert "a = " in boundary[0]
    assert clv.clv_report(analysis)["cautions"] == list(analysis.cautions)
    # _synthetic_summary's BG/NBD fit is inside the bounds, but everyone's spend per purchase is drawn
    # from one uniform distribution, so Gamma-Gamma's q (spread of mean spend between customers) runs off.
    plausible = fit_and_score(_synthetic_summary(), as_of=date(2025, 6, 30))
    assert [caution.split(" (")[0] for caution in plausible.cautions] == ["The Gamma-Gamma fit is at a boundary"]


def test_a_longer_horizon_never_predicts_less() -> None:
    summary = _synthetic_summary()
    short = fit_and_score(summary, as_of=date(2025, 6, 30), horizon=3).customers["predicted_value"]
    long = fit_and_score(summary, as_of=date(2025, 6, 30), horizon=12).customers["predicted_value"]
    assert (long >= short).all() and long.sum() > short.sum()


# --- CDNOW: the published parameters ------------------------------------------------------------
def _cdnow_transactions() -> pd.DataFrame:
    """CDNOW_sample.txt: original id, sample id (1..2357), yyyymmdd, number of CDs, dollar value."""
    return pd.read_csv(
        CDNOW_SAMPLE,
        sep=r"\s+",
        header=None,
        names=["original_id", "customer_id", "day", "cds", "value"],
        dtype={"day": str},
    )


def _load_cdnow(engine: Engine) -> None:
    """Import the 6,919 CDNOW transactions as delivered orders through the project's importer.

    The CSV links each order to its customer by external id; the importer creates the 2,357 customers.
    """
    transactions = _cdnow_transactions()
    file = pd.DataFrame(
        {
            "customer": "CDNOW-" + transactions["customer_id"].astype(str).str.zfill(4),
            "order_number": [f"CDNOW-{index:05d}" for index in range(len(transactions))],
            "order_date": pd.to_datetime(transactions["day"], format="%Y%m%d").dt.strftime("%Y-%m-%d"),
            "status": "delivered",
            "total": transactions["value"].map("{:.2f}".format),
        }
    )
    report = run_import(
        engine,
        file.to_csv(index=False).encode(),
        entity="orders",
        mapping={
            "customer": "customer_external_id",
            "order_number": "order_number",
            "order_date": "order_date",
            "status": "status",
            "total": "total",
        },
        file_name="cdnow_sample.csv",
    )
    assert (report.inserted, report.rejected_rows) == (6919, 0)
    assert report.created.get("customers") == 2357


def _customer_id(engine: Engine, external_id: str) -> int:
    with engine.connect() as connection:
        return connection.execute(select(customers.c.id).where(customers.c.external_id == external_id)).scalar_one()


def test_cdnow_reproduces_the_published_bgnbd_and_gamma_gamma_parameters(engine: Engine) -> None:
    _load_cdnow(engine)
    analysis = clv_analysis(engine, as_of=CDNOW_CALIBRATION_END, unit="W")
    assert analysis.fitted, analysis.message
    assert analysis.penalizer == 0.0
    # Fader, Hardie & Lee (2005), 39-week calibration ending 1997-09-30.
    assert analysis.params == pytest.approx(
        {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}, rel=RELATIVE_TOLERANCE
    )
    # Fader & Hardie, "The Gamma-Gamma Model of Monetary Value" (946 repeat buyers).
    assert analysis.monetary_params == pytest.approx({"p": 6.25, "q": 3.74, "v": 15.44}, rel=RELATIVE_TOLERANCE)
    assert analysis.counts["customers"] == 2357 and analysis.counts["repeat_buyers"] == 946
    assert analysis.cautions == ()  # published parameters are far from any boundary


def test_cdnow_holdout_compares_39_weeks_per_frequency_group(engine: Engine) -> None:
    _load_cdnow(engine)
    analysis = clv_analysis(engine, as_of=CDNOW_CALIBRATION_END, unit="W")
    assert analysis.holdout is not None and analysis.holdout_error is not None
    assert list(analysis.holdout.columns) == ["frequency_group", "customers", "actual_purchases", "predicted_purchases"]
    assert list(analysis.holdout["frequency_group"]) == ["0", "1", "2", "3", "4", "5", "6", "7+"]
    assert analysis.holdout["customers"].sum() == 2357
    assert analysis.holdout_error["holdout_length"] == pytest.approx(39.0)  # Oct 1 1997 – Jun 30 1998
    # Repeat purchase days after the calibration period, counted in the data (same-day orders merged).
    assert analysis.holdout_error["actual_purchases"] == 1882
    # lifetimes' own number for the same data: summary_data_from_transaction_data(calibration, freq="D",
    # freq_multiplier=7, observation_period_end="1997-09-30"), BetaGeoFitter().fit(...), then
    # conditional_expected_number_of_purchases_up_to_time(39, ...).sum() = 1653.4087.
    assert analysis.holdout_error["predicted_purchases"] == pytest.approx(1653.41, abs=0.01)
    assert analysis.holdout_error["total_error"] == pytest.approx((1653.4087 - 1882) / 1882, abs=1e-5)  # −12.1 %


def test_cdnow_reproduces_the_published_pareto_nbd_parameters(sqlite_engine: Engine) -> None:
    _load_cdnow(sqlite_engine)
    analysis = clv_analysis(sqlite_engine, as_of=CDNOW_CALIBRATION_END, unit="W", model="pareto")
    assert analysis.fitted, analysis.message
    # Fader, Hardie & Lee (2005), Pareto/NBD on the same calibration data.
    assert analysis.params == pytest.approx({"r": 0.553, "alpha": 10.578, "s": 0.606, "beta": 11.669}, rel=0.02)


def test_the_time_unit_rescales_alpha_but_not_the_predictions(sqlite_engine: Engine) -> None:
    _load_cdnow(sqlite_engine)
    days, weeks = (clv_analysis(sqlite_engine, as_of=CDNOW_CALIBRATION_END, unit=unit) for unit in ("D", "W"))
    assert days.params["alpha"] == pytest.approx(7 * weeks.params["alpha"], rel=1e-3)  # alpha is a time scale
    assert days.params["r"] == pytest.approx(weeks.params["r"], rel=1e-3)
    assert clv_overview(days).total_clv == pytest.approx(clv_overview(weeks).total_clv, rel=1e-3)
    assert days.holdout_error["predicted_purchases"] == pytest.approx(
        weeks.holdout_error["predicted_purchases"], rel=1e-3
    )


def test_bgnbd_expected_purchases_agree_with_lifetimes_where_lifetimes_is_finite(sqlite_engine: Engine) -> None:
    _load_cdnow(sqlite_engine)
    summary = rfm_summary(sqlite_engine, as_of=CDNOW_CALIBRATION_END, unit="W")
    params = clv_analysis(sqlite_engine, as_of=CDNOW_CALIBRATION_END, unit="W").params
    fitter = lifetimes.BetaGeoFitter()
    fitter.params_ = pd.Series(params)
    columns = [summary[name].to_numpy(dtype=float) for name in ("frequency", "recency", "T")]
    for weeks in (1.0, 39.0, 52.0):
        ours = fitting._expected_purchases("bgnbd", params, weeks, *columns)
        theirs = fitter.conditional_expected_number_of_purchases_up_to_time(weeks, *columns)
        assert np.allclose(ours, theirs, rtol=1e-9)


def test_pareto_expected_purchases_agree_with_lifetimes_where_lifetimes_is_finite(sqlite_engine: Engine) -> None:
    _load_cdnow(sqlite_engine)
    summary = rfm_summary(sqlite_engine, as_of=CDNOW_CALIBRATION_END, unit="W")
    params = {"r": 0.553, "alpha": 10.578, "s": 0.606, "beta": 11.669}  # the published CDNOW fit
    fitter = lifetimes.ParetoNBDFitter()
    fitter.params_ = pd.Series(params)
    columns = [summary[name].to_numpy(dtype=float) for name in ("frequency", "recency", "T")]
    for weeks in (1.0, 39.0, 52.0):
        ours = fitting._expected_purchases("pareto", params, weeks, *columns)
        theirs = fitter.conditional_expected_number_of_purchases_up_to_time(weeks, *columns)
        finite = np.isfinite(theirs)
        assert finite.mean() > 0.99
        assert np.allclose(ours[finite], theirs[finite], rtol=1e-9)


def test_pareto_expected_purchases_of_a_purchase_on_the_as_of_date_agree_with_lifetimes() -> None:
    params = {"r": 0.553, "alpha": 10.578, "s": 0.606, "beta": 11.669}
    fitter = lifetimes.ParetoNBDFitter()
    fitter.params_ = pd.Series(params)
    frequency = np.array([0.0, 1.0, 3.0, 10.0])
    age = np.array([5.0, 20.0, 38.0, 38.86])
    ours = fitting._expected_purchases("pareto", params, 39.0, frequency, age, age)
    theirs = fitter.conditional_expected_number_of_purchases_up_to_time(39.0, frequency, age, age)
    assert np.allclose(ours, theirs, rtol=1e-6)


def test_cdnow_frequency_and_spend_are_nearly_independent(sqlite_engine: Engine) -> None:
    _load_cdnow(sqlite_engine)
    analysis = clv_analysis(sqlite_engine, as_of=CDNOW_CALIBRATION_END, unit="W")
    # lifetimes' documentation: corr(monetary_value, frequency) of CDNOW's returning customers ≈ 0.11.
    assert analysis.monetary_correlation == pytest.approx(0.11, abs=0.01)


def test_customer_clv_scores_one_customer_with_the_population_model(sqlite_engine: Engine) -> None:
    _load_cdnow(sqlite_engine)
    # Sample customer 1 bought on Jan 1, Jan 18 and Aug 2 1997 in the calibration period (and Dec 12 after it).
    customer_id = _customer_id(sqlite_engine, "CDNOW-0001")
    one = customer_clv(sqlite_engine, customer_id, as_of=CDNOW_CALIBRATION_END, unit="W", horizon=12)
    assert one.orders == 3 and one.historic_value == pytest.approx(29.33 + 29.73 + 14.96)
    assert one.expected_purchases is not None and one.expected_purchases > 0
    assert one.predicted_value is not None and one.predicted_value > 0
    assert one.p_alive is not None and 0 < one.p_alive <= 1
    assert one.churn_risk == (one.p_alive < clv.CHURN_PROBABILITY)
    assert one.tier in {"top", "high", "mid", "low"}


def test_customer_clv_of_a_customer_without_orders_says_so(tiny_shop: TinyShop) -> None:
    eve = customer_clv(tiny_shop.engine, 5, as_of=AS_OF)
    assert eve.historic_value == 0 and eve.predicted_value is None
    assert eve.message == "No revenue orders up to 31 Mar 2025, so no lifetime value yet."


def test_customers_are_found_by_name_or_email_highest_value_first(tiny_shop: TinyShop) -> None:
    analysis = clv_analysis(tiny_shop.engine, as_of=AS_OF)
    found = find_customers(analysis, "ALICE")
    assert found.to_dict(orient="records") == [{"customer_id": 1, "label": "Alice Kim · alice@example.com"}]
    assert list(find_customers(analysis, "@example.com")["customer_id"]) == [1, 4, 2, 3]  # CLV 176, 50, 38, 38
    assert list(find_customers(analysis, "", limit=2)["customer_id"]) == [1, 4]
    assert find_customers(analysis, "nobody").empty


def test_customer_value_reads_one_row_of_the_analysis(tiny_shop: TinyShop) -> None:
    analysis = clv_analysis(tiny_shop.engine, as_of=AS_OF)  # 4 customers: historic CLV
    alice = customer_value(analysis, 1)
    assert (alice.name, alice.email, alice.orders, alice.last_purchase) == (
        "Alice Kim",
        "alice@example.com",
        3,
        date(2025, 3, 28),
    )
    assert alice.historic_value == pytest.approx(176.00)
    assert alice.predicted_value is None and alice.p_alive is None and not alice.bought_once
    assert alice.model == "historic CLV (no model could be fitted)" and "Too little data" in alice.message
    assert alice.churn_risk is False and "180 days" in alice.churn_rule  # last purchase 3 days before as-of


def test_a_customer_without_revenue_orders_has_no_lifetime_value_and_says_why(tiny_shop: TinyShop) -> None:
    analysis = clv_analysis(tiny_shop.engine, as_of=AS_OF)
    eve = customer_value(analysis, 5)  # Eve never ordered
    assert (eve.orders, eve.historic_value, eve.predicted_value, eve.p_alive, eve.churn_risk) == (
        0,
        0.0,
        None,
        None,
        None,
    )
    assert eve.message.startswith("No revenue orders up to ")


def test_a_bgnbd_one_time_buyer_has_no_p_alive_and_the_silence_rule() -> None:
    analysis = fit_and_score(_one_time_buyers_summary(), as_of=date(2026, 1, 1), unit="W")
    once = customer_value(analysis, 30)  # bought once, 50 weeks ago
    assert once.bought_once and once.p_alive is None and once.churn_risk is True
    assert once.churn_rule.startswith("bought once and nothing since for more than 127 days")
    assert once.model == "BG/NBD + Gamma-Gamma"
    repeat = customer_value(analysis, 1)
    assert not repeat.bought_once and repeat.p_alive is not None and repeat.churn_rule == "P(alive) below 50%"


def test_clv_command_prints_lifetimes_parameter_names_and_the_holdout_error(
    sqlite_engine: Engine, capsys: pytest.CaptureFixture[str]
) -> None:
    _load_cdnow(sqlite_engine)
    url = sqlite_engine.url.render_as_string(hide_password=False)
    assert main(["--database-url", url, "clv", "--as-of", "1997-09-30", "--unit", "W", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert set(report["params"]) == {"r", "alpha", "a", "b"}
    assert set(report["gamma_gamma"]) == {"p", "q", "v"}
    assert report["params"]["r"] == pytest.approx(0.243, rel=RELATIVE_TOLERANCE)
    assert report["counts"]["customers"] == 2357
    assert report["holdout"]["actual_purchases"] == 1882
    assert "total_error" in report["holdout"] and len(report["holdout"]["groups"]) == 8


def test_clv_command_on_an_empty_database_says_there_is_nothing_to_value(
    sqlite_engine: Engine, capsys: pytest.CaptureFixture[str]
) -> None:
    url = sqlite_engine.url.render_as_string(hide_password=False)
    assert main(["--database-url", url, "clv"]) == 0
    output = capsys.readouterr().out
    assert output.strip() == "No revenue orders match these filters."  # not "CLV as of None"


def test_clv_command_without_a_holdout_has_no_holdout_section(
    sqlite_engine: Engine, capsys: pytest.CaptureFixture[str]
) -> None:
    load_tiny_shop(sqlite_engine)
    url = sqlite_engine.url.render_as_string(hide_password=False)
    assert main(["--database-url", url, "clv", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["fitted"] is False and "Too little data" in report["message"]
    assert "holdout" not in report and report["params"] == {}
