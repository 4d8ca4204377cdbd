"""Scoring a fitted model for a horizon: predicted CLV, churn risk, value tiers (ClvAnalysis)."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import Engine

from crm.analytics.clv.constants import (
    CHURN_PROBABILITY,
    DEFAULT_HORIZON_MONTHS,
    DEFAULT_MODEL,
    DEFAULT_UNIT,
    FALLBACK_CHURN_DAYS,
    MODEL_WORDS,
    MONETARY_PARAMETERS,
    MONTHLY_DISCOUNT_RATE,
    TIERS,
    UNIT_DAYS,
    ModelName,
    Unit,
)
from crm.analytics.clv.fitting import _expected_purchases, _probability_alive
from crm.analytics.clv.model import ClvModel, fit_clv, fit_summary
from crm.filters import Filters


# --- scoring ----------------------------------------------------------------------------------
def _expected_order_value(summary: pd.DataFrame, monetary_params: dict[str, float]) -> np.ndarray:
    """Gamma-Gamma's expected value of one purchase (population mean for one-time buyers)."""
    frequency = summary["frequency"].to_numpy(dtype=float)
    monetary = summary["monetary_value"].to_numpy(dtype=float)
    if monetary_params:
        p, q, v = (monetary_params[name] for name in MONETARY_PARAMETERS)
        # lifetimes' conditional_expected_average_profit, written out to stay vectorised.
        return (p * (v + frequency * monetary)) / (p * frequency + q - 1)
    # Without Gamma-Gamma: the customer's own average purchase (first one included).
    return summary["historic_value"].to_numpy(dtype=float) / summary["purchase_days"].clip(lower=1).to_numpy()


def _score(fitted: ClvModel, *, horizon: int, discount_rate: float) -> tuple[pd.DataFrame, str]:
    """Per-customer expected purchases, predicted value, P(alive), churn flag (or historic fallback)."""
    scored = fitted.summary.copy()
    unit = fitted.unit
    frequency = scored["frequency"].to_numpy(dtype=float)
    recency = scored["recency"].to_numpy(dtype=float)
    age = scored["T"].to_numpy(dtype=float)
    message = fitted.message
    if fitted.fitted:
        units_per_month = UNIT_DAYS["M"] / UNIT_DAYS[unit]
        order_value = _expected_order_value(scored, fitted.monetary_params)
        alive = _probability_alive(fitted.model, fitted.params, frequency, recency, age)
        predicted = np.zeros(len(scored))
        previous = np.zeros(len(scored))
        for month in range(1, horizon + 1):
            cumulative = _expected_purchases(
                fitted.model, fitted.params, month * units_per_month, frequency, recency, age, alive=alive
            )
            predicted += (cumulative - previous) * order_value / (1 + discount_rate) ** month
            previous = cumulative
        if np.isfinite(previous).all() and np.isfinite(predicted).all() and np.isfinite(alive).all():
            scored["expected_purchases"] = np.clip(previous, 0.0, None)
            scored["expected_order_value"] = order_value
            scored["predicted_value"] = np.clip(predicted, 0.0, None).round(2)
            alive = np.clip(alive, 0.0, 1.0)
            churn_risk = alive < CHURN_PROBABILITY
            churn_days = fitted.one_time_churn_days
            if fitted.model == "bgnbd" and churn_days is not None:
                # BG/NBD's P(alive) of a one-time buyer is always 1 (see the module docstring).
                bought_once = frequency == 0
                silence_days = (age - recency) * UNIT_DAYS[unit]
                alive = np.where(bought_once, np.nan, alive)
                churn_risk = np.where(bought_once, silence_days > churn_days, churn_risk)
            scored["p_alive"] = alive
            scored["churn_risk"] = churn_risk.astype(bool)
            scored["clv"] = scored["predicted_value"]
            return scored, ""
        message = (
            f"The {MODEL_WORDS[fitted.model]} model gave non-finite predictions for some customers; "
            "showing historic CLV instead."
        )
    scored["expected_purchases"] = np.nan
    scored["expected_order_value"] = np.nan
    scored["predicted_value"] = np.nan
    scored["p_alive"] = np.nan
    days_without_purchase = scored["T"] * 0 if scored.empty else (scored["T"] - scored["recency"]) * UNIT_DAYS[unit]
    scored["churn_risk"] = days_without_purchase > FALLBACK_CHURN_DAYS
    scored["clv"] = scored["historic_value"]
    return scored, message


def _assign_tiers(scored: pd.DataFrame) -> pd.Series:
    """Tier by rank of CLV (ties broken by customer id, lowest id first)."""
    if scored.empty:
        return pd.Series([], dtype=object, index=scored.index)
    order = scored.sort_values(["clv", "customer_id"], ascending=[False, True], kind="mergesort").index
    share = pd.Series((np.arange(len(order)) + 1) / len(order), index=order)
    tiers = pd.Series("low", index=order, dtype=object)
    for name, upper in reversed(TIERS):
        tiers[share <= upper] = name
    return tiers.reindex(scored.index)


# --- the analysis ------------------------------------------------------------------------------
@dataclass
class ClvAnalysis:
    """Everything the CLV page, the CLI and Customer 360 show.

    ``customers`` has the ``rfm_summary`` columns plus expected_purchases (repeat purchases
    over the horizon), expected_order_value, predicted_value (discounted CLV over the
    horizon), p_alive (empty for BG/NBD one-time buyers), churn_risk, clv (predicted_value,
    or historic_value when no model could be fitted) and tier (top/high/mid/low). ``holdout``
    (when the as-of date leaves a holdout) has frequency_group, customers, actual_purchases,
    predicted_purchases (means). ``cautions``, ``fitted_customers``, ``sample_note``: see ``ClvModel``.
    """

    as_of: date | None
    unit: str
    horizon: int
    model: str
    discount_rate: float
    fitted: bool
    message: str
    monetary_message: str
    params: dict[str, float]
    monetary_params: dict[str, float]
    penalizer: float | None
    customers: pd.DataFrame
    holdout: pd.DataFrame | None = None
    holdout_error: dict[str, Any] | None = None
    holdout_end: date | None = None
    # Pearson correlation of frequency and mean repeat-purchase value among repeat buyers:
    # Gamma-Gamma assumes they are independent, so a large value (|ρ| > 0.3) deserves a warning.
    monetary_correlation: float | None = None
    # BG/NBD only: days of silence after which a one-time buyer is flagged (None: P(alive) rule for all).
    one_time_churn_days: float | None = None
    cautions: tuple[str, ...] = ()
    fitted_customers: int = 0
    sample_note: str = ""
    first_order_day: date | None = None
    timings: dict[str, float] = field(default_factory=dict)

    @property
    def value_basis(self) -> str:
        return "predicted" if self.fitted else "historic"

    @property
    def counts(self) -> dict[str, int]:
        frame = self.customers
        repeat = int((frame["frequency"] > 0).sum()) if not frame.empty else 0
        return {
            "customers": len(frame),
            "repeat_buyers": repeat,
            "one_time_buyers": len(frame) - repeat,
            "orders": int(frame["orders"].sum()) if not frame.empty else 0,
            "purchase_days": int(frame["purchase_days"].sum()) if not frame.empty else 0,
            "churn_risk": int(frame["churn_risk"].sum()) if not frame.empty else 0,
        }


def score_clv(
    fitted: ClvModel, *, horizon: int = DEFAULT_HORIZON_MONTHS, discount_rate: float = MONTHLY_DISCOUNT_RATE
) -> ClvAnalysis:
    """Score every customer of a fitted ``ClvModel`` over ``horizon`` months (no database, no refit).

    Predicted CLV is discounted by ``discount_rate`` a month.
    """
    if horizon < 1:
        raise ValueError("The horizon must be at least one month.")
    started = time.perf_counter()
    scored, message = _score(fitted, horizon=horizon, discount_rate=discount_rate)
    scored["tier"] = _assign_tiers(scored)
    usable = fitted.fitted and not message
    return ClvAnalysis(
        monetary_correlation=fitted.monetary_correlation,
        as_of=fitted.as_of,
        unit=fitted.unit,
        horizon=horizon,
        model=fitted.model,
        discount_rate=discount_rate,
        fitted=usable,
        message=message,
        monetary_message=fitted.monetary_message if usable else "",
        params=fitted.params if usable else {},
        monetary_params=fitted.monetary_params if usable else {},
        penalizer=fitted.penalizer if usable else None,
        customers=scored,
        holdout=fitted.holdout if usable else None,
        holdout_error=fitted.holdout_error if usable else None,
        holdout_end=fitted.holdout_end if usable else None,
        one_time_churn_days=fitted.one_time_churn_days if usable else None,
        cautions=fitted.cautions if usable else (),
        fitted_customers=fitted.fitted_customers if usable else 0,
        sample_note=fitted.sample_note if usable else "",
        first_order_day=fitted.first_order_day,
        timings={**fitted.timings, "score_seconds": time.perf_counter() - started},
    )


def fit_and_score(
    summary: pd.DataFrame,
    *,
    as_of: date | None,
    unit: Unit = DEFAULT_UNIT,
    horizon: int = DEFAULT_HORIZON_MONTHS,
    model: ModelName = DEFAULT_MODEL,
    discount_rate: float = MONTHLY_DISCOUNT_RATE,
    holdout_end: date | None = None,
) -> ClvAnalysis:
    """Fit the models on an ``rfm_summary`` frame and score every customer (see ``ClvAnalysis``).

    ``unit`` must be the summary's unit (``summary.attrs["unit"]``, when recorded).
    """
    if horizon < 1:
        raise ValueError("The horizon must be at least one month.")
    fitted = fit_summary(summary, as_of=as_of, unit=unit, model=model, holdout_end=holdout_end)
    return score_clv(fitted, horizon=horizon, discount_rate=discount_rate)


def clv_analysis(
    engine: Engine,
    filters: Filters | None = None,
    *,
    as_of: date | None = None,
    unit: Unit = DEFAULT_UNIT,
    horizon: int = DEFAULT_HORIZON_MONTHS,
    model: ModelName = DEFAULT_MODEL,
    discount_rate: float = MONTHLY_DISCOUNT_RATE,
) -> ClvAnalysis:
    """Build the RFM summary in SQL, fit the models and score every customer (``fit_clv`` + ``score_clv``).

    ``as_of`` (local day, inclusive) ends the calibration period; it defaults to the last
    order day matching ``filters``. When it is earlier, the orders after it (up to the last
    order day within the period) are the holdout. ``horizon`` is in months; predicted CLV is
    discounted by ``discount_rate`` a month. All arguments are hashable (``cached(...)``).
    """
    if horizon < 1:
        raise ValueError("The horizon must be at least one month.")
    fitted = fit_clv(engine, filters, as_of=as_of, unit=unit, model=model)
    return score_clv(fitted, horizon=horizon, discount_rate=discount_rate)


def model_label(analysis: ClvAnalysis) -> str:
    """The model behind ``analysis`` in words: "BG/NBD + Gamma-Gamma", or why it is historic CLV."""
    if not analysis.fitted:
        return "historic CLV (no model could be fitted)"
    words = MODEL_WORDS[analysis.model]
    return f"{words} + Gamma-Gamma" if analysis.monetary_params else f"{words} with historic average purchase values"


def churn_rule(analysis: ClvAnalysis, *, bought_once: bool | None = None) -> str:
    """The churn-risk rule of ``analysis`` in words (for one-time buyers, others, or everyone when None)."""
    if not analysis.fitted:
        return f"no purchase for more than {FALLBACK_CHURN_DAYS} days (no model could be fitted)"
    alive_rule = f"P(alive) below {CHURN_PROBABILITY:.0%}"
    days = analysis.one_time_churn_days
    if days is None:
        return alive_rule
    silence_rule = (
        f"bought once and nothing since for more than {days:,.0f} days, longer than 9 in 10 repeat buyers' mean "
        "time between purchases (BG/NBD gives every one-time buyer P(alive) = 100 %, so it cannot tell)"
    )
    if bought_once is None:
        return f"repeat buyers: {alive_rule}; one-time buyers: {silence_rule}"
    return silence_rule if bought_once else alive_rule
