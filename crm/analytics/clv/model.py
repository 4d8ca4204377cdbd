"""The fitted model (everything but the horizon): ClvModel, the holdout check and fit_clv."""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import Engine

from crm.analytics.clv.constants import (
    DEFAULT_MODEL,
    DEFAULT_UNIT,
    HOLDOUT_MAX_GROUP,
    ONE_TIME_CHURN_QUANTILE,
    UNIT_DAYS,
    UNIT_WORDS,
    ModelName,
    Unit,
)
from crm.analytics.clv.fitting import _expected_purchases, _Fit, _fit_models
from crm.analytics.clv.summary import _check_unit, _empty_summary, _resolve_dates, _summary_query
from crm.filters import Filters

# --- the fitted model (everything but the horizon) ---------------------------------------------
# Above this |correlation| between frequency and spend per purchase, Gamma-Gamma's independence
# assumption is doubtful (lifetimes' documentation suggests checking it).
MONETARY_CORRELATION_WARNING = 0.3


def _monetary_correlation(summary: pd.DataFrame) -> float | None:
    repeat = summary[(summary["frequency"] > 0) & (summary["monetary_value"] > 0)]
    if len(repeat) < 3 or repeat["frequency"].nunique() < 2 or repeat["monetary_value"].nunique() < 2:
        return None
    return round(float(np.corrcoef(repeat["frequency"], repeat["monetary_value"])[0, 1]), 4)


def _one_time_churn_days(summary: pd.DataFrame, unit: str) -> float | None:
    """Days of silence after which a BG/NBD one-time buyer is a churn risk (see ONE_TIME_CHURN_QUANTILE).

    Each repeat buyer's mean days between purchases is (last − first purchase) ÷ repeat purchases.
    """
    repeat = summary[summary["frequency"] > 0]
    if repeat.empty:
        return None
    gaps = repeat["recency"].to_numpy(dtype=float) / repeat["frequency"].to_numpy(dtype=float) * UNIT_DAYS[unit]
    return round(float(np.quantile(gaps, ONE_TIME_CHURN_QUANTILE)), 1)


@dataclass
class ClvModel:
    """The RFM summary and the fitted models for one (filters, as-of date, unit, model).

    Everything but the horizon: ``score_clv`` turns it into a ``ClvAnalysis`` for any horizon,
    so a page caches this (the costly part) and rescores when only the horizon changes.

    * summary: the ``rfm_summary`` frame; params / monetary_params: fitted parameters under
      lifetimes' names ({} when none); message / monetary_message: why there are none.
    * cautions: why a fit that worked deserves care (a parameter at a boundary).
    * fitted_customers: customers the purchase model was fitted on; sample_note says so when
      that is a sample (large Pareto/NBD fits), "" otherwise.
    * holdout, holdout_error, holdout_end: the holdout check (see ``ClvAnalysis``).
    * one_time_churn_days: BG/NBD's inactivity rule for one-time buyers (None otherwise).
    * token: unique per fit, so a cache can key scores by it instead of hashing the summary.
    """

    as_of: date | None
    unit: str
    model: str
    summary: pd.DataFrame
    params: dict[str, float]
    monetary_params: dict[str, float]
    penalizer: float | None
    message: str
    monetary_message: str = ""
    cautions: tuple[str, ...] = ()
    fitted_customers: int = 0
    sample_note: str = ""
    holdout: pd.DataFrame | None = None
    holdout_error: dict[str, Any] | None = None
    holdout_end: date | None = None
    first_order_day: date | None = None
    monetary_correlation: float | None = None
    one_time_churn_days: float | None = None
    timings: dict[str, float] = field(default_factory=dict)
    token: str = field(default_factory=lambda: uuid.uuid4().hex)

    @property
    def fitted(self) -> bool:
        return bool(self.params)


def _holdout_check(
    summary: pd.DataFrame, model: str, params: dict[str, float], *, unit: str, as_of: date, holdout_end: date
) -> tuple[pd.DataFrame, dict[str, float]]:
    """Predicted vs actual repeat purchases in the holdout, per calibration frequency group."""
    length = (holdout_end - as_of).days / UNIT_DAYS[unit]
    predicted = _expected_purchases(
        model,
        params,
        length,
        summary["frequency"].to_numpy(dtype=float),
        summary["recency"].to_numpy(dtype=float),
        summary["T"].to_numpy(dtype=float),
    )
    frame = pd.DataFrame(
        {
            "group": summary["frequency"].clip(upper=HOLDOUT_MAX_GROUP).to_numpy(),
            "actual": summary["holdout_purchases"].to_numpy(dtype=float),
            "predicted": predicted,
        }
    )
    table = (
        frame.groupby("group")
        .agg(
            customers=("actual", "size"), actual_purchases=("actual", "mean"), predicted_purchases=("predicted", "mean")
        )
        .reset_index()
    )
    table.insert(
        0,
        "frequency_group",
        [f"{group}+" if group == HOLDOUT_MAX_GROUP else str(group) for group in table["group"]],
    )
    table = table.drop(columns="group")
    actual_total = float(frame["actual"].sum())
    predicted_total = float(frame["predicted"].sum())
    error = {
        "holdout_start": (as_of + timedelta(days=1)).isoformat(),
        "holdout_end": holdout_end.isoformat(),
        "holdout_length": round(length, 4),
        "actual_purchases": actual_total,
        "predicted_purchases": round(predicted_total, 4),
        # Relative error of the total: (predicted − actual) ÷ actual.
        "total_error": round((predicted_total - actual_total) / actual_total, 6) if actual_total else float("nan"),
        "mean_absolute_error": round(float((frame["predicted"] - frame["actual"]).abs().mean()), 6),
    }
    return table, error


def _check_summary_unit(summary: pd.DataFrame, unit: str) -> None:
    recorded = summary.attrs.get("unit")
    # A hand-made summary may carry no unit; one from rfm_summary always does.
    if recorded is not None and recorded != unit:
        raise ValueError(
            f"The RFM summary is in {UNIT_WORDS.get(recorded, recorded)} but unit={unit!r} "
            f"({UNIT_WORDS[unit]}) was passed: build the summary in the unit you fit with."
        )


def fit_summary(
    summary: pd.DataFrame,
    *,
    as_of: date | None,
    unit: Unit = DEFAULT_UNIT,
    model: ModelName = DEFAULT_MODEL,
    holdout_end: date | None = None,
    first_order_day: date | None = None,
    empty_message: str = "No revenue orders match these filters.",
) -> ClvModel:
    """Fit the models on an ``rfm_summary`` frame and run the holdout check (see ``ClvModel``).

    ``empty_message`` says why an empty summary is empty.
    """
    _check_unit(unit)
    _check_summary_unit(summary, unit)
    started = time.perf_counter()
    fit = _fit_models(summary, model)
    if summary.empty:
        fit = _Fit(model, {}, {}, None, None, empty_message, "")
    holdout = holdout_error = None
    if fit.fitted and holdout_end is not None and as_of is not None and holdout_end > as_of:
        holdout, holdout_error = _holdout_check(
            summary, model, fit.params, unit=unit, as_of=as_of, holdout_end=holdout_end
        )
    return ClvModel(
        as_of=as_of,
        unit=unit,
        model=model,
        summary=summary,
        params=fit.params,
        monetary_params=fit.monetary_params,
        penalizer=fit.penalizer,
        message=fit.message,
        monetary_message=fit.monetary_message,
        cautions=fit.cautions,
        fitted_customers=fit.fitted_customers,
        sample_note=fit.sample_note,
        holdout=holdout,
        holdout_error=holdout_error,
        holdout_end=holdout_end if holdout is not None else None,
        first_order_day=first_order_day,
        monetary_correlation=_monetary_correlation(summary),
        one_time_churn_days=_one_time_churn_days(summary, unit) if fit.fitted and model == "bgnbd" else None,
        timings={"fit_seconds": time.perf_counter() - started},
    )


def _no_orders_message(as_of: date | None, first_order_day: date | None) -> str:
    if as_of is not None and first_order_day is not None and as_of < first_order_day:
        return (
            f"No customer had bought by {as_of:%d %b %Y}: the first revenue order matching these filters is on "
            f"{first_order_day:%d %b %Y}. Pick a later as-of date."
        )
    return "No revenue orders match these filters."


def fit_clv(
    engine: Engine,
    filters: Filters | None = None,
    *,
    as_of: date | None = None,
    unit: Unit = DEFAULT_UNIT,
    model: ModelName = DEFAULT_MODEL,
) -> ClvModel:
    """Build the RFM summary in SQL and fit the models: the costly, horizon-free half of ``clv_analysis``.

    ``as_of`` (local day, inclusive) ends the calibration period; it defaults to the last
    order day matching ``filters``. When it is earlier, the orders after it (up to the last
    order day within the period) are the holdout. All arguments are hashable (``cached(...)``).
    """
    _check_unit(unit)
    filters = filters or Filters()
    started = time.perf_counter()
    with engine.connect() as connection:
        as_of, holdout_end, first_day = _resolve_dates(connection, filters, as_of)
        if as_of is None or (first_day is not None and as_of < first_day):
            summary = _empty_summary(unit)
        else:
            summary = _summary_query(connection, filters, as_of, unit, holdout_end)
    summary_seconds = time.perf_counter() - started
    fitted = fit_summary(
        summary,
        as_of=as_of,
        unit=unit,
        model=model,
        holdout_end=holdout_end,
        first_order_day=first_day,
        empty_message=_no_orders_message(as_of, first_day),
    )
    fitted.timings = {"summary_seconds": summary_seconds, **fitted.timings}
    return fitted
