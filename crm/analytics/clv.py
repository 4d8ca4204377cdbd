"""Customer lifetime value and churn risk: BG/NBD (or Pareto/NBD) + Gamma-Gamma with lifetimes.

How the numbers are made (DESIGN.md, metric definitions):

* The RFM summary is built in SQL from revenue orders (not cancelled/refunded). Orders of
  one customer on the same local day are merged into one purchase, as in the CDNOW data
  the models were published on. Times are whole days converted to ONE unit (D, W or M)
  passed in by the caller:
  ``frequency`` = purchase days − 1 (repeat purchases), ``recency`` = last − first purchase,
  ``T`` = as-of date − first purchase, ``monetary_value`` = mean value of the repeat
  purchase days (the first purchase is left out, as Gamma-Gamma expects).
* Customers who bought once stay in the BG/NBD (or Pareto/NBD) fit; Gamma-Gamma is fitted
  on repeat buyers only.
* Churn risk: P(alive) below 50 %. BG/NBD lets customers drop out only right after a
  repeat purchase, so it gives every one-time buyer P(alive) = 1 however long ago they
  bought. For them P(alive) is left empty ("n/a (bought once)") and churn risk is an
  inactivity rule taken from the data: no purchase for longer than the 90th percentile of
  repeat buyers' mean days between purchases (``one_time_churn_days``). Pareto/NBD lets
  customers drop out at any time, so its P(alive) is used for everyone.
* Predicted CLV = Σ over the horizon's months of (expected purchases in that month ×
  expected purchase value) ÷ (1 + monthly discount rate)^month, like lifetimes'
  ``customer_lifetime_value``. Historic CLV = what the customer has spent up to the as-of date.
* The "as of" date ends the calibration period. Orders after it (up to the end of the
  filter period or the last order) are the holdout: predicted vs actual repeat purchases
  per calibration frequency group, and the total error.
* Degenerate data (too few customers or repeat buyers, a fit that does not converge,
  parameters that are not finite) never raise: the result says why and falls back to
  historic CLV.

The fitted lifetimes objects never leave this module (they hold lambdas that cannot be
pickled, and ``st.cache_data`` pickles results); results carry the parameters instead.
"""

from __future__ import annotations

import contextlib
import io
import math
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any, Literal

import numpy as np
import pandas as pd
from sqlalchemy import Connection, Engine, Float, cast, func, select
from sqlalchemy.sql.expression import ColumnElement

from crm.dialect import epoch_day, to_local
from crm.filters import Filters
from crm.schema import REVENUE_ORDER_STATUSES, customers, orders

__all__ = [
    "CHURN_PROBABILITY",
    "FALLBACK_CHURN_DAYS",
    "MODELS",
    "MONETARY_CORRELATION_WARNING",
    "MONTHLY_DISCOUNT_RATE",
    "ONE_TIME_CHURN_QUANTILE",
    "TIERS",
    "UNITS",
    "UNIT_DAYS",
    "ClvAnalysis",
    "ClvOverview",
    "CustomerClv",
    "benchmark_clv",
    "churn_rule",
    "clv_analysis",
    "clv_by_source",
    "clv_overview",
    "clv_report",
    "cohort_clv_trend",
    "customer_clv",
    "fit_and_score",
    "last_order_day",
    "rfm_summary",
    "top_customers",
    "value_tiers",
]

Unit = Literal["D", "W", "M"]
ModelName = Literal["bgnbd", "pareto"]

UNITS: tuple[Unit, ...] = ("D", "W", "M")
# Days per time unit. A month is the mean Gregorian month, so 12 months are exactly a year.
UNIT_DAYS: dict[str, float] = {"D": 1.0, "W": 7.0, "M": 365.25 / 12}
UNIT_WORDS = {"D": "days", "W": "weeks", "M": "months"}
MODELS: tuple[ModelName, ...] = ("bgnbd", "pareto")
MODEL_WORDS = {"bgnbd": "BG/NBD", "pareto": "Pareto/NBD"}
# Parameter names exactly as lifetimes prints them.
MODEL_PARAMETERS = {"bgnbd": ("r", "alpha", "a", "b"), "pareto": ("r", "alpha", "s", "beta")}
MONETARY_PARAMETERS = ("p", "q", "v")

# Default horizon of predicted CLV, in months (lifetimes' ``time`` argument is in months too).
DEFAULT_HORIZON_MONTHS = 12
# Monthly discount rate of predicted CLV: 1 % a month ≈ 12.7 % a year, a common cost of capital.
MONTHLY_DISCOUNT_RATE = 0.01
# A customer whose probability of still being active is below this is flagged as a churn risk.
CHURN_PROBABILITY = 0.5
# BG/NBD one-time buyers (P(alive) = 1 by construction) are a churn risk after a silence longer
# than this quantile of repeat buyers' mean days between purchases: 9 in 10 repeat buyers come
# back sooner than that, so a longer silence is unusual for a customer who will buy again.
ONE_TIME_CHURN_QUANTILE = 0.9
# Without a model (fallback), a customer is a churn risk after this many days without a purchase.
FALLBACK_CHURN_DAYS = 180
# Below these counts the maximum-likelihood fit is mostly noise: use historic CLV instead.
MIN_CUSTOMERS = 20
MIN_REPEAT_BUYERS = 10
# Penalizers tried in order: 0 reproduces the published parameters; a small L2 penalty
# rescues fits that wander off to extreme parameters on odd data.
PENALIZERS = (0.0, 0.001, 0.01)
# Value tiers by rank of CLV: the best 10 % are "top", the next 20 % "high", the next 30 %
# "mid", the remaining 40 % "low" (upper bound of each tier's rank share, best first).
TIERS: tuple[tuple[str, float], ...] = (("top", 0.10), ("high", 0.30), ("mid", 0.60), ("low", 1.00))
# Calibration frequency groups of the holdout table: 0, 1, …, 6 and "7+".
HOLDOUT_MAX_GROUP = 7

_EPOCH = date(1970, 1, 1)


def _day_number(day: date) -> int:
    return (day - _EPOCH).days


def _from_day_number(number: int) -> date:
    return _EPOCH + timedelta(days=int(number))


# --- the RFM summary --------------------------------------------------------------------------
def _check_unit(unit: str) -> None:
    if unit not in UNITS:
        raise ValueError(f"unit must be one of {UNITS}, not {unit!r}")


def _order_conditions(filters: Filters, end_day: date | None) -> list[ColumnElement[bool]]:
    """Revenue orders matching the filters, from the period's start up to ``end_day`` (local)."""
    window = filters.with_dates(filters.start_date, end_day)
    conditions = [orders.c.status.in_(REVENUE_ORDER_STATUSES)]
    conditions += window.period_clauses(orders.c.order_date)
    conditions += filters.brand_clauses(orders.c.brand_id)
    conditions += filters.customer_clauses(customers)
    return conditions


def _order_source(filters: Filters) -> Any:
    if filters.has_customer_filters():
        return orders.join(customers, customers.c.id == orders.c.customer_id)
    return orders


def last_order_day(connection: Connection, filters: Filters) -> date | None:
    """The latest local day with a revenue order matching ``filters`` (None without orders)."""
    day = epoch_day(to_local(orders.c.order_date, filters.timezone_name))
    query = (
        select(func.max(day)).select_from(_order_source(filters)).where(*_order_conditions(filters, filters.end_date))
    )
    number = connection.execute(query).scalar_one()
    return None if number is None else _from_day_number(number)


def _resolve_dates(connection: Connection, filters: Filters, as_of: date | None) -> tuple[date | None, date | None]:
    """(as-of date, holdout end). The holdout end is the last order day up to the period's end."""
    last_day = last_order_day(connection, filters)
    if last_day is None:
        return as_of, None
    if as_of is None or as_of >= last_day:
        return as_of or last_day, None
    return as_of, last_day


def rfm_summary(
    engine: Engine,
    filters: Filters | None = None,
    *,
    as_of: date | None = None,
    unit: Unit = "W",
    holdout_end: date | None = None,
) -> pd.DataFrame:
    """One row per customer with a revenue order on or before ``as_of`` (local day, inclusive).

    Columns: customer_id, name, source, first_purchase, last_purchase (dates up to as_of),
    orders (revenue orders up to as_of), purchase_days, frequency (purchase_days − 1),
    recency (last − first purchase), T (as_of − first purchase) — both in ``unit`` —,
    historic_value (spent up to as_of), monetary_value (mean value of the repeat purchase
    days, 0 for one-time buyers), holdout_purchases and holdout_value (purchase days and
    value after as_of up to ``holdout_end``; 0 without a holdout).
    ``as_of`` defaults to the last order day matching the filters.
    """
    _check_unit(unit)
    filters = filters or Filters()
    with engine.connect() as connection:
        if as_of is None:
            as_of = last_order_day(connection, filters)
        if as_of is None:
            return _empty_summary()
        if holdout_end is not None and holdout_end <= as_of:
            holdout_end = None
        return _summary_query(connection, filters, as_of, unit, holdout_end)


def _empty_summary() -> pd.DataFrame:
    columns = {
        "customer_id": "int64",
        "name": "object",
        "source": "object",
        "first_purchase": "object",
        "last_purchase": "object",
        "orders": "int64",
        "purchase_days": "int64",
        "frequency": "int64",
        "recency": "float64",
        "T": "float64",
        "historic_value": "float64",
        "monetary_value": "float64",
        "holdout_purchases": "int64",
        "holdout_value": "float64",
    }
    return pd.DataFrame({name: pd.Series(dtype=dtype) for name, dtype in columns.items()})


def _last_day_read(filters: Filters, as_of: date, holdout_end: date | None) -> date:
    """Orders are read up to the holdout's end (or the as-of date), never past the period's end."""
    end = holdout_end or as_of
    return min(end, filters.end_date) if filters.end_date else end


def _summary_query(
    connection: Connection, filters: Filters, as_of: date, unit: str, holdout_end: date | None
) -> pd.DataFrame:
    as_of_number = _day_number(as_of)
    day_expression = epoch_day(to_local(orders.c.order_date, filters.timezone_name))
    # One row per customer and local day: same-day orders are one purchase.
    daily = (
        select(
            orders.c.customer_id.label("customer_id"),
            day_expression.label("day"),
            cast(func.sum(orders.c.total), Float).label("value"),
            func.count().label("orders"),
        )
        .select_from(_order_source(filters))
        .where(*_order_conditions(filters, _last_day_read(filters, as_of, holdout_end)))
        .group_by(orders.c.customer_id, day_expression)
        .cte("daily")
    )
    firsts = (
        select(daily.c.customer_id, func.min(daily.c.day).label("first_day"))
        .group_by(daily.c.customer_id)
        .having(func.min(daily.c.day) <= as_of_number)
        .subquery("firsts")
    )
    calibration = daily.c.day <= as_of_number
    per_customer = (
        select(
            daily.c.customer_id,
            firsts.c.first_day,
            func.max(daily.c.day).filter(calibration).label("last_day"),
            func.count().filter(calibration).label("purchase_days"),
            func.sum(daily.c.orders).filter(calibration).label("orders"),
            func.sum(daily.c.value).filter(calibration).label("historic_value"),
            func.sum(daily.c.value).filter(daily.c.day == firsts.c.first_day).label("first_value"),
            func.count().filter(~calibration).label("holdout_purchases"),
            func.coalesce(func.sum(daily.c.value).filter(~calibration), 0.0).label("holdout_value"),
        )
        .select_from(daily.join(firsts, firsts.c.customer_id == daily.c.customer_id))
        .group_by(daily.c.customer_id, firsts.c.first_day)
        .subquery("per_customer")
    )
    name = func.trim(func.coalesce(customers.c.first_name, "") + " " + func.coalesce(customers.c.last_name, ""))
    query = (
        select(
            per_customer,
            func.coalesce(func.nullif(name, ""), customers.c.company, customers.c.email).label("name"),
            func.coalesce(customers.c.source, "unknown").label("source"),
        )
        .select_from(per_customer.join(customers, customers.c.id == per_customer.c.customer_id))
        .order_by(per_customer.c.customer_id)
    )
    rows = connection.execute(query).all()
    if not rows:
        return _empty_summary()
    raw = pd.DataFrame.from_records(rows, columns=list(rows[0]._fields))
    unit_days = UNIT_DAYS[unit]
    purchase_days = raw["purchase_days"].astype("int64")
    frequency = purchase_days - 1
    first_value = raw["first_value"].astype(float).fillna(0.0)
    historic_value = raw["historic_value"].astype(float).fillna(0.0)
    repeat_value = (historic_value - first_value).clip(lower=0.0)
    monetary = np.where(frequency > 0, repeat_value / frequency.where(frequency > 0, 1), 0.0)
    first_day = raw["first_day"].astype("int64")
    last_day = raw["last_day"].astype("int64")
    summary = pd.DataFrame(
        {
            "customer_id": raw["customer_id"].astype("int64"),
            "name": raw["name"].astype(object),
            "source": raw["source"].astype(object),
            "first_purchase": [_from_day_number(number) for number in first_day],
            "last_purchase": [_from_day_number(number) for number in last_day],
            "orders": raw["orders"].astype("int64"),
            "purchase_days": purchase_days,
            "frequency": frequency,
            "recency": (last_day - first_day) / unit_days,
            "T": (as_of_number - first_day) / unit_days,
            "historic_value": historic_value.round(2),
            "monetary_value": np.round(monetary, 6),
            "holdout_purchases": raw["holdout_purchases"].astype("int64"),
            "holdout_value": raw["holdout_value"].astype(float).round(2),
        }
    )
    return summary


# --- fitting ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class _Fit:
    """Parameters of a successful fit (or why there is none)."""

    model: str
    params: dict[str, float]
    monetary_params: dict[str, float]
    penalizer: float | None
    monetary_penalizer: float | None
    message: str
    monetary_message: str

    @property
    def fitted(self) -> bool:
        return bool(self.params)


def _finite_positive(params: dict[str, float]) -> bool:
    return all(math.isfinite(value) and value > 0 for value in params.values())


def _quietly(function: Callable[[], Any]) -> Any:
    """Run a lifetimes call without its prints (it prints the optimizer output on failure) or warnings."""
    with contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        return function()


# An optimizer stop with this small a gradient (of the mean log-likelihood per customer) is a
# converged fit: BFGS reports "precision loss" when the optimum lies on a boundary (e.g. a → 0,
# nobody drops out), which lifetimes treats as failure.
CONVERGED_GRADIENT = 1e-4
# Pareto/NBD starts from random points in lifetimes; a fixed start (their mean) makes fits repeatable.
PARETO_START = (1.0, 1.0, 1.0, 1.0)


def _tolerant(fitter_class: type) -> type:
    """``fitter_class`` whose optimizer also accepts a stop with a vanishing gradient."""
    from autograd import hessian, value_and_grad
    from lifetimes.utils import ConvergenceError
    from scipy.optimize import minimize

    def _fit(
        self: Any,
        minimizing_function_args: tuple[Any, ...],
        initial_params: Any,
        params_size: int,
        disp: bool,
        tol: float = 1e-7,
        bounds: Any = None,
        **kwargs: Any,
    ) -> tuple[np.ndarray, float, np.ndarray]:
        # lifetimes.fitters.BaseFitter._fit, with the acceptance test widened.
        start = 0.1 * np.ones(params_size) if initial_params is None else initial_params
        output = minimize(
            value_and_grad(self._negative_log_likelihood),
            jac=True,
            tol=tol,
            x0=start,
            args=minimizing_function_args,
            options={"disp": disp, **kwargs},
            bounds=bounds,
        )
        flat = np.isfinite(output.fun) and np.max(np.abs(output.jac)) < CONVERGED_GRADIENT
        if not (output.success or flat):
            raise ConvergenceError(f"The model did not converge: {output.message}")
        return output.x, output.fun, hessian(self._negative_log_likelihood)(output.x, *minimizing_function_args)

    return type(f"Tolerant{fitter_class.__name__}", (fitter_class,), {"_fit": _fit})


def _frequency_fitter(model: str, penalizer: float) -> Any:
    from lifetimes import BetaGeoFitter, ParetoNBDFitter

    if model == "bgnbd":
        return _tolerant(BetaGeoFitter)(penalizer_coef=penalizer)
    if model == "pareto":
        return ParetoNBDFitter(penalizer_coef=penalizer)
    raise ValueError(f"model must be one of {MODELS}, not {model!r}")


def _count(number: int, noun: str) -> str:
    return f"{number:,} {noun}" + ("" if number == 1 else "s")


def _fit_frequency(summary: pd.DataFrame, model: str) -> tuple[dict[str, float], float | None, str]:
    """Fit BG/NBD or Pareto/NBD on every customer (one-time buyers included)."""
    customers_count = len(summary)
    repeat_buyers = int((summary["frequency"] > 0).sum())
    if customers_count < MIN_CUSTOMERS or repeat_buyers < MIN_REPEAT_BUYERS:
        return (
            {},
            None,
            f"Too little data for the {MODEL_WORDS[model]} model: {_count(customers_count, 'customer')} and "
            f"{_count(repeat_buyers, 'repeat buyer')} (it needs at least {MIN_CUSTOMERS} and {MIN_REPEAT_BUYERS}). "
            "Showing historic CLV instead.",
        )
    if (summary["T"] <= 0).all():
        return {}, None, "Every customer bought for the first time on the as-of date; showing historic CLV instead."
    # Customers with the same (frequency, recency, T) have the same likelihood: fit each
    # pattern once, weighted by its count (exactly the same optimum, much less work).
    patterns = summary.groupby(["frequency", "recency", "T"], sort=False).size().reset_index(name="weights")
    last_problem = "the optimizer did not converge"
    for penalizer in PENALIZERS:
        fitter = _frequency_fitter(model, penalizer)
        try:
            _quietly(
                lambda fitter=fitter: fitter.fit(
                    patterns["frequency"].to_numpy(),
                    patterns["recency"].to_numpy(dtype=float),
                    patterns["T"].to_numpy(dtype=float),
                    weights=patterns["weights"].to_numpy(),
                    **({"initial_params": np.array(PARETO_START)} if model == "pareto" else {}),
                )
            )
        except Exception as error:  # ConvergenceError, LinAlgError, ValueError from odd inputs
            last_problem = f"the fit failed ({type(error).__name__})"
            continue
        params = {name: float(fitter.params_[name]) for name in MODEL_PARAMETERS[model]}
        if not _finite_positive(params):
            last_problem = "the fitted parameters were not finite"
            continue
        if not _predicts_finite(model, params, patterns):
            # A flat likelihood can run off to parameters (a, b → ∞) the formulas cannot evaluate.
            last_problem = "the fitted parameters gave non-finite predictions"
            continue
        return params, penalizer, ""
    return (
        {},
        None,
        f"The {MODEL_WORDS[model]} model could not be fitted ({last_problem}); showing historic CLV instead.",
    )


def _predicts_finite(model: str, params: dict[str, float], patterns: pd.DataFrame) -> bool:
    """True when expected purchases over the longest customer age and P(alive) are finite for every pattern."""
    frequency = patterns["frequency"].to_numpy(dtype=float)
    recency = patterns["recency"].to_numpy(dtype=float)
    age = patterns["T"].to_numpy(dtype=float)
    horizon = max(float(age.max()), 1.0)
    expected = _expected_purchases(model, params, horizon, frequency, recency, age)
    alive = _probability_alive(model, params, frequency, recency, age)
    return bool(np.isfinite(expected).all() and np.isfinite(alive).all())


def _fit_monetary(summary: pd.DataFrame) -> tuple[dict[str, float], float | None, str]:
    """Fit Gamma-Gamma on repeat buyers' mean repeat-purchase value."""
    from lifetimes import GammaGammaFitter

    repeat = summary[(summary["frequency"] > 0) & (summary["monetary_value"] > 0)]
    if len(repeat) < MIN_REPEAT_BUYERS:
        return {}, None, "Too few repeat buyers for Gamma-Gamma; expected purchase values are historic averages."
    last_problem = "the optimizer did not converge"
    for penalizer in PENALIZERS:
        fitter = _tolerant(GammaGammaFitter)(penalizer_coef=penalizer)
        try:
            _quietly(
                lambda fitter=fitter: fitter.fit(
                    repeat["frequency"].to_numpy(), repeat["monetary_value"].to_numpy(dtype=float)
                )
            )
        except Exception as error:  # ConvergenceError and numerical failures
            last_problem = f"the fit failed ({type(error).__name__})"
            continue
        params = {name: float(fitter.params_[name]) for name in MONETARY_PARAMETERS}
        # q ≤ 1 means an infinite population mean spend: not usable for prediction.
        if _finite_positive(params) and params["q"] > 1:
            return params, penalizer, ""
        last_problem = "the fitted parameters were not usable"
    return (
        {},
        None,
        f"Gamma-Gamma could not be fitted ({last_problem}); expected purchase values are historic averages.",
    )


def _fit_models(summary: pd.DataFrame, model: str) -> _Fit:
    if model not in MODELS:
        raise ValueError(f"model must be one of {MODELS}, not {model!r}")
    params, penalizer, message = _fit_frequency(summary, model)
    if not params:
        return _Fit(model, {}, {}, None, None, message, "")
    monetary_params, monetary_penalizer, monetary_message = _fit_monetary(summary)
    return _Fit(model, params, monetary_params, penalizer, monetary_penalizer, "", monetary_message)


def _fitter_from_params(model: str, params: dict[str, float]) -> Any:
    fitter = _frequency_fitter(model, 0.0)
    fitter.params_ = pd.Series(params)
    return fitter


def _bgnbd_expected_purchases(
    params: dict[str, float], t: float, frequency: np.ndarray, recency: np.ndarray, age: np.ndarray
) -> np.ndarray:
    """BG/NBD expected repeat purchases in the next ``t`` units (Fader, Hardie & Lee 2005, eq. 10).

    lifetimes takes the log of 2F1(r+x, b+x; a+b+x−1; z), which is negative (log → NaN) when
    a + b < 1 and overflows for heavy buyers. With Euler's transformation the term
    ((α+T)/(α+T+t))^(r+x) · 2F1(r+x, b+x; c; z) equals (1−z)^(a−1) · 2F1(a+b−1−r, a−1; c; z),
    whose parameters stay small, so it is finite for every customer.
    """
    from scipy.special import hyp2f1

    r, alpha, a, b = (params[name] for name in MODEL_PARAMETERS["bgnbd"])
    x = frequency
    c = a + b + x - 1
    z = t / (alpha + age + t)
    discounted_hypergeometric = (1 - z) ** (a - 1) * hyp2f1(a + b - 1 - r, a - 1, c, z)
    numerator = (a + b + x - 1) / (a - 1) * (1 - discounted_hypergeometric)
    repeat = x > 0
    ratio = np.where(repeat, a / np.where(repeat, b + x - 1, 1.0), 0.0)
    denominator = 1 + ratio * ((alpha + age) / (alpha + recency)) ** (r + x)
    return numerator / denominator


def _expected_purchases(
    model: str, params: dict[str, float], t: float, frequency: np.ndarray, recency: np.ndarray, age: np.ndarray
) -> np.ndarray:
    """Expected repeat purchases in the next ``t`` units for each customer."""
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        if model == "bgnbd":
            return np.asarray(_bgnbd_expected_purchases(params, t, frequency, recency, age), dtype=float)
        fitter = _fitter_from_params(model, params)
        expected = np.asarray(
            fitter.conditional_expected_number_of_purchases_up_to_time(t, frequency, recency, age), dtype=float
        )
        # A customer who bought on the as-of date (recency = T) makes lifetimes' A0 term 0 − 0;
        # for heavy buyers its hypergeometric terms overflow first (inf − inf).
        last_day = np.isclose(recency, age) & ~np.isfinite(expected)
        return np.where(last_day, _pareto_expected_bought_on_as_of_date(params, t, frequency, age), expected)


def _pareto_expected_bought_on_as_of_date(
    params: dict[str, float], t: float, frequency: np.ndarray, age: np.ndarray
) -> np.ndarray:
    """Pareto/NBD expected purchases of customers whose last purchase is on the as-of date.

    Eq. 41 of Fader & Hardie's Pareto/NBD derivations with A0 = 0 (P(alive) = 1):
    (r + x)(β + T) / ((α + T)(s − 1)) · (1 − ((β + T) / (β + T + t))^(s − 1)).
    """
    r, alpha, s, beta = (params[name] for name in MODEL_PARAMETERS["pareto"])
    return (r + frequency) * (beta + age) / (alpha + age) * (1 - ((beta + age) / (beta + age + t)) ** (s - 1)) / (s - 1)


def _probability_alive(
    model: str, params: dict[str, float], frequency: np.ndarray, recency: np.ndarray, age: np.ndarray
) -> np.ndarray:
    """P(alive) for each customer. lifetimes returns an ndarray (not a Series): keep it positional."""
    fitter = _fitter_from_params(model, params)
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        alive = np.asarray(fitter.conditional_probability_alive(frequency, recency, age), dtype=float)
    if model == "pareto":
        # Bought on the as-of date: alive for sure (A0 = 0), even where lifetimes overflows.
        alive = np.where(np.isclose(recency, age) & ~np.isfinite(alive), 1.0, alive)
    return alive


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


def _one_time_churn_days(summary: pd.DataFrame, unit: str) -> float | None:
    """Days of silence after which a BG/NBD one-time buyer is a churn risk (see ONE_TIME_CHURN_QUANTILE).

    Each repeat buyer's mean days between purchases is (last − first purchase) ÷ repeat purchases.
    """
    repeat = summary[summary["frequency"] > 0]
    if repeat.empty:
        return None
    gaps = repeat["recency"].to_numpy(dtype=float) / repeat["frequency"].to_numpy(dtype=float) * UNIT_DAYS[unit]
    return round(float(np.quantile(gaps, ONE_TIME_CHURN_QUANTILE)), 1)


def _score(
    summary: pd.DataFrame, fit: _Fit, *, unit: str, horizon: int, discount_rate: float
) -> tuple[pd.DataFrame, str]:
    """Per-customer expected purchases, predicted value, P(alive), churn flag (or historic fallback)."""
    scored = summary.copy()
    frequency = scored["frequency"].to_numpy(dtype=float)
    recency = scored["recency"].to_numpy(dtype=float)
    age = scored["T"].to_numpy(dtype=float)
    message = fit.message
    if fit.fitted:
        units_per_month = UNIT_DAYS["M"] / UNIT_DAYS[unit]
        order_value = _expected_order_value(scored, fit.monetary_params)
        predicted = np.zeros(len(scored))
        previous = np.zeros(len(scored))
        for month in range(1, horizon + 1):
            cumulative = _expected_purchases(fit.model, fit.params, month * units_per_month, frequency, recency, age)
            predicted += (cumulative - previous) * order_value / (1 + discount_rate) ** month
            previous = cumulative
        alive = _probability_alive(fit.model, fit.params, frequency, recency, age)
        if np.isfinite(previous).all() and np.isfinite(predicted).all() and np.isfinite(alive).all():
            scored["expected_purchases"] = np.clip(previous, 0.0, None)
            scored["expected_order_value"] = order_value
            scored["predicted_value"] = np.clip(predicted, 0.0, None).round(2)
            alive = np.clip(alive, 0.0, 1.0)
            churn_risk = alive < CHURN_PROBABILITY
            churn_days = _one_time_churn_days(summary, unit)
            if fit.model == "bgnbd" and churn_days is not None:
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
            f"The {MODEL_WORDS[fit.model]} model gave non-finite predictions for some customers; "
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


def _holdout_check(
    summary: pd.DataFrame, fit: _Fit, *, unit: str, as_of: date, holdout_end: date
) -> tuple[pd.DataFrame, dict[str, float]]:
    """Predicted vs actual repeat purchases in the holdout, per calibration frequency group."""
    length = (holdout_end - as_of).days / UNIT_DAYS[unit]
    predicted = _expected_purchases(
        fit.model,
        fit.params,
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


# --- the analysis ------------------------------------------------------------------------------
@dataclass
class ClvAnalysis:
    """Everything the CLV page, the CLI and Customer 360 show.

    ``customers`` has the ``rfm_summary`` columns plus expected_purchases (repeat purchases
    over the horizon), expected_order_value, predicted_value (discounted CLV over the
    horizon), p_alive, churn_risk, clv (predicted_value, or historic_value when no model
    could be fitted) and tier (top/high/mid/low). ``holdout`` (when the as-of date leaves a
    holdout) has frequency_group, customers, actual_purchases, predicted_purchases (means).
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


# Above this |correlation| between frequency and spend per purchase, Gamma-Gamma's independence
# assumption is doubtful (lifetimes' documentation suggests checking it).
MONETARY_CORRELATION_WARNING = 0.3


def _monetary_correlation(summary: pd.DataFrame) -> float | None:
    repeat = summary[(summary["frequency"] > 0) & (summary["monetary_value"] > 0)]
    if len(repeat) < 3 or repeat["frequency"].nunique() < 2 or repeat["monetary_value"].nunique() < 2:
        return None
    return round(float(np.corrcoef(repeat["frequency"], repeat["monetary_value"])[0, 1]), 4)


def fit_and_score(
    summary: pd.DataFrame,
    *,
    as_of: date | None,
    unit: Unit = "W",
    horizon: int = DEFAULT_HORIZON_MONTHS,
    model: ModelName = "bgnbd",
    discount_rate: float = MONTHLY_DISCOUNT_RATE,
    holdout_end: date | None = None,
) -> ClvAnalysis:
    """Fit the models on an ``rfm_summary`` frame and score every customer (see ``ClvAnalysis``)."""
    _check_unit(unit)
    if horizon < 1:
        raise ValueError("The horizon must be at least one month.")
    timings: dict[str, float] = {}
    started = time.perf_counter()
    fit = _fit_models(summary, model)
    timings["fit_seconds"] = time.perf_counter() - started
    started = time.perf_counter()
    if summary.empty:
        fit = _Fit(model, {}, {}, None, None, "No revenue orders match these filters.", "")
    scored, message = _score(summary, fit, unit=unit, horizon=horizon, discount_rate=discount_rate)
    fitted = fit.fitted and not message
    scored["tier"] = _assign_tiers(scored)
    holdout = holdout_error = None
    if fitted and holdout_end is not None and as_of is not None and holdout_end > as_of:
        holdout, holdout_error = _holdout_check(summary, fit, unit=unit, as_of=as_of, holdout_end=holdout_end)
    timings["score_seconds"] = time.perf_counter() - started
    return ClvAnalysis(
        monetary_correlation=_monetary_correlation(summary),
        as_of=as_of,
        unit=unit,
        horizon=horizon,
        model=model,
        discount_rate=discount_rate,
        fitted=fitted,
        message=message,
        monetary_message=fit.monetary_message if fitted else "",
        params=fit.params if fitted else {},
        monetary_params=fit.monetary_params if fitted else {},
        penalizer=fit.penalizer if fitted else None,
        customers=scored,
        holdout=holdout,
        holdout_error=holdout_error,
        holdout_end=holdout_end if holdout is not None else None,
        one_time_churn_days=_one_time_churn_days(summary, unit) if fitted and model == "bgnbd" else None,
        timings=timings,
    )


def clv_analysis(
    engine: Engine,
    filters: Filters | None = None,
    *,
    as_of: date | None = None,
    unit: Unit = "W",
    horizon: int = DEFAULT_HORIZON_MONTHS,
    model: ModelName = "bgnbd",
    discount_rate: float = MONTHLY_DISCOUNT_RATE,
) -> ClvAnalysis:
    """Build the RFM summary in SQL, fit the models and score every customer.

    ``as_of`` (local day, inclusive) ends the calibration period; it defaults to the last
    order day matching ``filters``. When it is earlier, the orders after it (up to the last
    order day within the period) are the holdout. ``horizon`` is in months; predicted CLV is
    discounted by ``discount_rate`` a month. All arguments are hashable (``cached(...)``).
    """
    _check_unit(unit)
    filters = filters or Filters()
    started = time.perf_counter()
    with engine.connect() as connection:
        as_of, holdout_end = _resolve_dates(connection, filters, as_of)
        summary = _empty_summary() if as_of is None else _summary_query(connection, filters, as_of, unit, holdout_end)
    summary_seconds = time.perf_counter() - started
    analysis = fit_and_score(
        summary,
        as_of=as_of,
        unit=unit,
        horizon=horizon,
        model=model,
        discount_rate=discount_rate,
        holdout_end=holdout_end,
    )
    analysis.timings = {"summary_seconds": summary_seconds, **analysis.timings}
    return analysis


def churn_rule(analysis: ClvAnalysis, *, bought_once: bool | None = None) -> str:
    """The churn-risk rule of ``analysis`` in words (for one-time buyers, others, or everyone when None)."""
    if not analysis.fitted:
        return f"no purchase for more than {FALLBACK_CHURN_DAYS} days (no model could be fitted)"
    alive_rule = f"P(alive) below {CHURN_PROBABILITY:.0%}"
    days = analysis.one_time_churn_days
    if days is None:
        return alive_rule
    silence_rule = (
        f"bought once and no purchase for more than {days:,.0f} days (9 in 10 repeat buyers buy again sooner: "
        "90th percentile of their mean days between purchases; BG/NBD gives every one-time buyer P(alive) = 100 %)"
    )
    if bought_once is None:
        return f"repeat buyers: {alive_rule}; one-time buyers: {silence_rule}"
    return silence_rule if bought_once else alive_rule


# --- shaped results for the page ---------------------------------------------------------------
@dataclass(frozen=True)
class ClvOverview:
    """Headline CLV numbers.

    * customers: customers with a revenue order up to the as-of date; repeat_buyers among them.
    * average_clv / total_clv: predicted CLV over the horizon (historic CLV when no model fits).
    * average_historic / total_historic: what customers have spent up to the as-of date.
    * average_order_value: historic revenue ÷ revenue orders.
    * purchase_frequency: revenue orders ÷ customers.
    * average_lifespan_days: mean days from first to last purchase of repeat buyers.
    * churn_risk: customers flagged as churn risk (``churn_rule``).
    * average_p_alive: mean P(alive) of the customers who have one (under BG/NBD one-time buyers
      have none); None without a model.
    """

    customers: int
    repeat_buyers: int
    average_clv: float
    total_clv: float
    average_historic: float
    total_historic: float
    average_order_value: float
    purchase_frequency: float
    average_lifespan_days: float
    churn_risk: int
    average_p_alive: float | None
    value_basis: str


def clv_overview(analysis: ClvAnalysis) -> ClvOverview:
    """The headline numbers of ``analysis`` (see ``ClvOverview`` for the definitions)."""
    frame = analysis.customers
    if frame.empty:
        return ClvOverview(0, 0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0, None, analysis.value_basis)
    orders_count = int(frame["orders"].sum())
    total_historic = float(frame["historic_value"].sum())
    repeat = frame[frame["frequency"] > 0]
    lifespan = ((repeat["last_purchase"] - repeat["first_purchase"]).map(lambda gap: gap.days)).mean()
    return ClvOverview(
        customers=len(frame),
        repeat_buyers=len(repeat),
        average_clv=round(float(frame["clv"].mean()), 2),
        total_clv=round(float(frame["clv"].sum()), 2),
        average_historic=round(total_historic / len(frame), 2),
        total_historic=round(total_historic, 2),
        average_order_value=round(total_historic / orders_count, 2) if orders_count else 0.0,
        purchase_frequency=round(orders_count / len(frame), 4),
        average_lifespan_days=round(float(lifespan), 1) if len(repeat) else 0.0,
        churn_risk=int(frame["churn_risk"].sum()),
        average_p_alive=round(float(frame["p_alive"].mean()), 4) if analysis.fitted else None,
        value_basis=analysis.value_basis,
    )


def value_tiers(analysis: ClvAnalysis) -> pd.DataFrame:
    """Columns: tier (top, high, mid, low), customers, customer_share, value (CLV), value_share, average_value."""
    frame = analysis.customers
    names = [name for name, _ in TIERS]
    grouped = frame.groupby("tier")["clv"].agg(["size", "sum"]).reindex(names, fill_value=0)
    total_customers = max(len(frame), 1)
    total_value = float(frame["clv"].sum()) if not frame.empty else 0.0
    return pd.DataFrame(
        {
            "tier": names,
            "customers": grouped["size"].astype("int64").to_numpy(),
            "customer_share": (grouped["size"] / total_customers).to_numpy(dtype=float),
            "value": grouped["sum"].astype(float).round(2).to_numpy(),
            "value_share": (grouped["sum"] / total_value).to_numpy(dtype=float) if total_value else 0.0,
            "average_value": (grouped["sum"] / grouped["size"].where(grouped["size"] > 0))
            .astype(float)
            .round(2)
            .to_numpy(),
        }
    )


def clv_by_source(analysis: ClvAnalysis) -> pd.DataFrame:
    """Columns: source, customers, total_clv, average_clv, value_share, churn_risk_share; by total CLV."""
    frame = analysis.customers
    if frame.empty:
        return pd.DataFrame(
            columns=["source", "customers", "total_clv", "average_clv", "value_share", "churn_risk_share"]
        )
    grouped = frame.groupby("source").agg(
        customers=("customer_id", "size"),
        total_clv=("clv", "sum"),
        average_clv=("clv", "mean"),
        churn_risk_share=("churn_risk", "mean"),
    )
    total = float(frame["clv"].sum())
    grouped["value_share"] = grouped["total_clv"] / total if total else 0.0
    grouped["total_clv"] = grouped["total_clv"].round(2)
    grouped["average_clv"] = grouped["average_clv"].round(2)
    ordered = grouped.reset_index().sort_values(["total_clv", "source"], ascending=[False, True])
    return ordered[["source", "customers", "total_clv", "average_clv", "value_share", "churn_risk_share"]].reset_index(
        drop=True
    )


TOP_COLUMNS = [
    "customer_id",
    "name",
    "source",
    "tier",
    "orders",
    "historic_value",
    "expected_purchases",
    "predicted_value",
    "p_alive",
    "churn_risk",
    "last_purchase",
]


def top_customers(analysis: ClvAnalysis, limit: int = 20) -> pd.DataFrame:
    """The ``limit`` customers with the highest CLV (ties: lower customer id first); TOP_COLUMNS."""
    frame = analysis.customers
    ordered = frame.sort_values(["clv", "customer_id"], ascending=[False, True], kind="mergesort")
    return ordered.head(limit)[TOP_COLUMNS].reset_index(drop=True)


def cohort_clv_trend(analysis: ClvAnalysis) -> pd.DataFrame:
    """Monthly cohorts of new customers (month of first purchase).

    Columns: cohort ('YYYY-MM-01'), customers, average_historic, average_predicted (NaN
    without a model), average_total (historic + predicted).
    """
    frame = analysis.customers
    columns = ["cohort", "customers", "average_historic", "average_predicted", "average_total"]
    if frame.empty:
        return pd.DataFrame(columns=columns)
    cohort = frame["first_purchase"].map(lambda day: day.replace(day=1).isoformat())
    predicted = frame["predicted_value"].fillna(0.0) if analysis.fitted else pd.Series(0.0, index=frame.index)
    grouped = (
        pd.DataFrame({"cohort": cohort, "historic": frame["historic_value"], "predicted": predicted})
        .groupby("cohort")
        .agg(
            customers=("historic", "size"),
            average_historic=("historic", "mean"),
            average_predicted=("predicted", "mean"),
        )
        .reset_index()
        .sort_values("cohort")
    )
    grouped["average_total"] = grouped["average_historic"] + grouped["average_predicted"]
    for name in ("average_historic", "average_predicted", "average_total"):
        grouped[name] = grouped[name].round(2)
    if not analysis.fitted:
        grouped["average_predicted"] = np.nan
        grouped["average_total"] = grouped["average_historic"]
    return grouped[columns].reset_index(drop=True)


# --- one customer (Customer 360) ----------------------------------------------------------------
@dataclass(frozen=True)
class CustomerClv:
    """CLV of one customer: historic value, expected purchases and predicted (discounted) value
    over ``horizon`` months, P(alive) and the churn-risk flag. Model values are None when the
    customer has no purchase or no model could be fitted (``message`` says why)."""

    customer_id: int
    as_of: date | None
    horizon: int
    historic_value: float
    orders: int
    expected_purchases: float | None
    predicted_value: float | None
    p_alive: float | None
    churn_risk: bool | None
    tier: str | None
    message: str


def customer_clv(
    engine: Engine,
    customer_id: int,
    *,
    filters: Filters | None = None,
    as_of: date | None = None,
    unit: Unit = "W",
    horizon: int = DEFAULT_HORIZON_MONTHS,
    model: ModelName = "bgnbd",
) -> CustomerClv:
    """The CLV of one customer, scored by a model fitted on all customers matching ``filters``.

    The fit covers the whole population, so wrap it in ``cached(...)`` on a page.
    """
    analysis = clv_analysis(engine, filters, as_of=as_of, unit=unit, horizon=horizon, model=model)
    rows = analysis.customers[analysis.customers["customer_id"] == customer_id]
    if rows.empty:
        return CustomerClv(
            customer_id,
            analysis.as_of,
            horizon,
            0.0,
            0,
            None,
            None,
            None,
            None,
            None,
            "No revenue orders up to the as-of date.",
        )
    row = rows.iloc[0]

    def optional(value: Any) -> float | None:
        return None if pd.isna(value) else float(value)

    return CustomerClv(
        customer_id=customer_id,
        as_of=analysis.as_of,
        horizon=horizon,
        historic_value=float(row["historic_value"]),
        orders=int(row["orders"]),
        expected_purchases=optional(row["expected_purchases"]),
        predicted_value=optional(row["predicted_value"]),
        p_alive=optional(row["p_alive"]),
        churn_risk=bool(row["churn_risk"]),
        tier=str(row["tier"]),
        message=analysis.message,
    )


# --- CLI report and benchmark ------------------------------------------------------------------
def _rounded(values: dict[str, float], digits: int = 6) -> dict[str, float]:
    return {name: round(value, digits) for name, value in values.items()}


def clv_report(analysis: ClvAnalysis) -> dict[str, Any]:
    """A JSON-ready summary: parameters under lifetimes' names, counts, overview, holdout error."""
    overview = clv_overview(analysis)
    report: dict[str, Any] = {
        "as_of": analysis.as_of.isoformat() if analysis.as_of else None,
        "unit": analysis.unit,
        "horizon_months": analysis.horizon,
        "monthly_discount_rate": analysis.discount_rate,
        "model": analysis.model,
        "fitted": analysis.fitted,
        "message": analysis.message or None,
        "params": _rounded(analysis.params),
        "penalizer": analysis.penalizer,
        "gamma_gamma": _rounded(analysis.monetary_params),
        "gamma_gamma_message": analysis.monetary_message or None,
        "frequency_monetary_correlation": analysis.monetary_correlation,
        "counts": analysis.counts,
        "overview": {
            "average_clv": overview.average_clv,
            "total_clv": overview.total_clv,
            "average_historic": overview.average_historic,
            "total_historic": overview.total_historic,
            "average_order_value": overview.average_order_value,
            "purchase_frequency": overview.purchase_frequency,
            "average_lifespan_days": overview.average_lifespan_days,
            "average_p_alive": overview.average_p_alive,
            "value_basis": overview.value_basis,
        },
        "tiers": value_tiers(analysis).to_dict(orient="records"),
    }
    if analysis.holdout_error is not None and analysis.holdout is not None:
        report["holdout"] = {**analysis.holdout_error, "groups": analysis.holdout.to_dict(orient="records")}
    return report


def benchmark_clv(engine: Engine, filters: Filters | None = None) -> dict[str, float]:
    """Seconds to build the RFM summary, fit the models and score every customer (BG/NBD, weeks).

    total_seconds is summary + fit + score; importing lifetimes (once per process, about a
    second) is reported apart as import_seconds.
    """
    started = time.perf_counter()
    import lifetimes  # noqa: F401 - timed apart: the app pays it once, not per fit

    import_seconds = time.perf_counter() - started
    analysis = clv_analysis(engine, filters)
    timings = {name: round(value, 4) for name, value in analysis.timings.items()}
    timings["total_seconds"] = round(sum(analysis.timings.values()), 4)
    timings["import_seconds"] = round(import_seconds, 4)
    timings["customers"] = float(len(analysis.customers))
    timings["fitted"] = float(analysis.fitted)
    return timings
