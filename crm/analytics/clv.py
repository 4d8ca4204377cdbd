"""Customer lifetime value and churn risk: BG/NBD (or Pareto/NBD) + Gamma-Gamma with lifetimes.

How the numbers are made (DESIGN.md, metric definitions):

* The RFM summary is built in SQL from revenue orders (not cancelled/refunded). Orders of
  one customer on the same local day are merged into one purchase, as in the CDNOW data
  the models were published on. Times are whole days converted to ONE unit (D, W or M)
  passed in by the caller:
  ``frequency`` = purchase days − 1 (repeat purchases), ``recency`` = last − first purchase,
  ``T`` = as-of date − first purchase, ``monetary_value`` = mean value of the repeat
  purchase days (the first purchase is left out, as Gamma-Gamma expects). The summary
  records its unit in ``summary.attrs["unit"]``, and fitting refuses another unit.
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
  historic CLV. An as-of date before the first order says so.
* A fit that converges with a shape parameter outside SHAPE_BOUNDS (r = 8e6, a = 3e-9,
  q = 1e13: the optimum ran off to the edge of the parameter space, typical of small or odd
  data) is kept, with "fit at a boundary — treat predictions with caution" in ``cautions``.

Two stages, so that a page can change the horizon without refitting: ``fit_clv`` builds the
summary in SQL, fits the models and runs the holdout check (it depends on the filters, the
as-of date, the unit and the model) and returns a ``ClvModel``; ``score_clv`` turns that into
a ``ClvAnalysis`` for a horizon and discount rate (well under a second for 100k customers).
``clv_analysis`` does both.

Pareto/NBD is fitted with lifetimes' own likelihood, minimised by L-BFGS-B over the
logarithms of the parameters: lifetimes' Nelder–Mead needs about 70 s for 78k customers on
two cores, this about a tenth of that. Above PARETO_FIT_CUSTOMERS customers the parameters
are fitted on a seeded random sample of that size (the same data gives the same sample and
fit); every customer is still scored, and ``sample_note`` says so. Its expected purchases are
P(alive) × the closed form of Fader & Hardie's eq. 41, so the costly hypergeometric terms
are computed once per customer instead of once per month of the horizon.

The fitted lifetimes objects never leave this module (they hold lambdas that cannot be
pickled, and ``st.cache_data`` pickles results); results carry the parameters instead.
"""

from __future__ import annotations

import contextlib
import io
import math
import time
import uuid
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
    "DEFAULT_HORIZON_MONTHS",
    "DEFAULT_MODEL",
    "DEFAULT_UNIT",
    "FALLBACK_CHURN_DAYS",
    "MODELS",
    "MODEL_WORDS",
    "MONETARY_CORRELATION_WARNING",
    "MONTHLY_DISCOUNT_RATE",
    "ONE_TIME_CHURN_QUANTILE",
    "PARETO_FIT_CUSTOMERS",
    "SHAPE_BOUNDS",
    "TIERS",
    "UNITS",
    "UNIT_DAYS",
    "UNIT_WORDS",
    "ClvAnalysis",
    "ClvModel",
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
    "customer_value",
    "find_customers",
    "fit_and_score",
    "fit_clv",
    "fit_summary",
    "last_order_day",
    "model_label",
    "order_days",
    "rfm_summary",
    "score_clv",
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

# Defaults of the CLV page, Customer 360 and the CLI (one place, so they show the same numbers):
# weeks, as in the published CDNOW fits; a one-year horizon (in months, like lifetimes' ``time``).
DEFAULT_UNIT: Unit = "W"
DEFAULT_HORIZON_MONTHS = 12
DEFAULT_MODEL: ModelName = "bgnbd"
# Monthly discount rate of predicted CLV: 1 % a month ≈ 12.7 % a year, a common cost of capital.
MONTHLY_DISCOUNT_RATE = 0.01
# A customer whose probability of still being active is below this is flagged as a churn risk.
CHURN_PROBABILITY = 0.5
# BG/NBD one-time buyers (P(alive) = 1 by construction) are a churn risk after a silence longer
# than this quantile of repeat buyers' mean days between purchases: 9 in 10 repeat buyers buy
# more often than that, so a longer silence is unusual for a customer who will buy again.
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
# Shape parameters (r, a, b, s of the purchase models; p, q of Gamma-Gamma) outside these bounds
# mean the optimum ran off to the edge of the parameter space: r → ∞ (every customer buys at the
# same rate), a → 0 (nobody ever drops out), q → ∞ (everyone spends the same). Published fits lie
# between 0.1 and 100 (CDNOW: r = 0.24, a = 0.79, q = 3.7). Scale parameters (alpha, beta, v)
# follow their shape parameter when it runs off, so the shapes are enough to check.
SHAPE_BOUNDS = (1e-3, 1e4)
SHAPE_PARAMETERS = frozenset({"r", "a", "b", "s", "p", "q"})
# Pareto/NBD is fitted on at most this many customers (a seeded random sample above it): one
# evaluation of its likelihood takes ~0.5 ms per thousand customers and a fit ~100 evaluations, so
# 30k customers fit in ~2 s (~4 s on two busy cores), which keeps summary + fit + score of 100k
# customers inside the 10 s budget. 30k customers pin 4 parameters down far more tightly than
# CDNOW's 2,357 did.
PARETO_FIT_CUSTOMERS = 30_000
# Seed of that sample: the same summary always gives the same sample, hence the same fit.
PARETO_SAMPLE_SEED = 2005

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


def _order_day_range(connection: Connection, filters: Filters) -> tuple[date | None, date | None]:
    day = epoch_day(to_local(orders.c.order_date, filters.timezone_name))
    query = (
        select(func.min(day), func.max(day))
        .select_from(_order_source(filters))
        .where(*_order_conditions(filters, filters.end_date))
    )
    first, last = connection.execute(query).one()
    return (None if first is None else _from_day_number(first), None if last is None else _from_day_number(last))


def order_days(engine: Engine, filters: Filters | None = None) -> tuple[date | None, date | None]:
    """(first, last) local day with a revenue order matching ``filters``; (None, None) without orders.

    The CLV page offers as-of dates between them.
    """
    with engine.connect() as connection:
        return _order_day_range(connection, filters or Filters())


def last_order_day(connection: Connection, filters: Filters) -> date | None:
    """The latest local day with a revenue order matching ``filters`` (None without orders)."""
    return _order_day_range(connection, filters)[1]


def _resolve_dates(
    connection: Connection, filters: Filters, as_of: date | None
) -> tuple[date | None, date | None, date | None]:
    """(as-of date, holdout end, first order day). The holdout end is the last order day up to the period's end."""
    first_day, last_day = _order_day_range(connection, filters)
    if last_day is None:
        return as_of, None, None
    if as_of is None or as_of >= last_day:
        return as_of or last_day, None, first_day
    return as_of, last_day, first_day


def rfm_summary(
    engine: Engine,
    filters: Filters | None = None,
    *,
    as_of: date | None = None,
    unit: Unit = "W",
    holdout_end: date | None = None,
) -> pd.DataFrame:
    """One row per customer with a revenue order on or before ``as_of`` (local day, inclusive).

    Columns: customer_id, name, email, source, first_purchase, last_purchase (dates up to as_of),
    orders (revenue orders up to as_of), purchase_days, frequency (purchase_days − 1),
    recency (last − first purchase), T (as_of − first purchase) — both in ``unit`` —,
    historic_value (spent up to as_of), monetary_value (mean value of the repeat purchase
    days, 0 for one-time buyers), holdout_purchases and holdout_value (purchase days and
    value after as_of up to ``holdout_end``; 0 without a holdout).
    ``as_of`` defaults to the last order day matching the filters. ``attrs["unit"]`` is ``unit``.
    """
    _check_unit(unit)
    filters = filters or Filters()
    with engine.connect() as connection:
        if as_of is None:
            as_of = last_order_day(connection, filters)
        if as_of is None:
            return _empty_summary(unit)
        if holdout_end is not None and holdout_end <= as_of:
            holdout_end = None
        return _summary_query(connection, filters, as_of, unit, holdout_end)


def _empty_summary(unit: str) -> pd.DataFrame:
    columns = {
        "customer_id": "int64",
        "name": "object",
        "email": "object",
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
    summary = pd.DataFrame({name: pd.Series(dtype=dtype) for name, dtype in columns.items()})
    summary.attrs["unit"] = unit
    return summary


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
            customers.c.email.label("email"),
            func.coalesce(customers.c.source, "unknown").label("source"),
        )
        .select_from(per_customer.join(customers, customers.c.id == per_customer.c.customer_id))
        .order_by(per_customer.c.customer_id)
    )
    rows = connection.execute(query).all()
    if not rows:
        return _empty_summary(unit)
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
            "email": raw["email"].astype(object),
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
    summary.attrs["unit"] = unit
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
    # Customers the purchase model was fitted on (fewer than the summary when sampled).
    fitted_customers: int = 0
    cautions: tuple[str, ...] = ()
    sample_note: str = ""

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
# Pareto/NBD starts from r = alpha = s = beta = 1 (lifetimes starts from random points around
# that): a fixed start makes fits repeatable.
PARETO_START = (1.0, 1.0, 1.0, 1.0)
# A likelihood that overflows on the way (parameters far off) counts as this bad, so the line
# search steps back instead of failing on inf/NaN.
_UNUSABLE_OBJECTIVE = 1e12


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


def _fit_pareto(patterns: pd.DataFrame, penalizer: float) -> dict[str, float]:
    """Pareto/NBD maximum likelihood: lifetimes' likelihood, minimised by L-BFGS-B over log-parameters.

    The objective is lifetimes' (weighted negative log-likelihood ÷ mean weight + penalizer · Σθ²)
    divided by the number of patterns, which has the same optimum on a per-customer scale.
    Optimising the logarithms keeps every parameter positive without bounds.
    """
    from lifetimes import ParetoNBDFitter
    from lifetimes.utils import ConvergenceError
    from scipy.optimize import minimize

    frequency = patterns["frequency"].to_numpy()
    weights = patterns["weights"].to_numpy(dtype=float)
    # As lifetimes does: rescale time so the oldest customer is 10 units old (better conditioned).
    scale = 10.0 / max(float(patterns["T"].max()), 1e-9)
    recency = patterns["recency"].to_numpy(dtype=float) * scale
    age = patterns["T"].to_numpy(dtype=float) * scale
    total_weight = float(weights.sum())

    def objective(log_params: np.ndarray) -> float:
        params = np.exp(log_params)
        likelihood = ParetoNBDFitter._conditional_log_likelihood(params, frequency, recency, age)
        penalty = penalizer * float(np.sum(params**2)) / len(weights)
        value = -float((weights * likelihood).sum()) / total_weight + penalty
        return value if math.isfinite(value) else _UNUSABLE_OBJECTIVE

    output = minimize(objective, np.log(np.array(PARETO_START)), method="L-BFGS-B")
    flat = output.fun < _UNUSABLE_OBJECTIVE and np.max(np.abs(output.jac)) < CONVERGED_GRADIENT
    if not (output.success or flat) or output.fun >= _UNUSABLE_OBJECTIVE:
        raise ConvergenceError(f"The model did not converge: {output.message}")
    r, alpha, s, beta = (float(value) for value in np.exp(output.x))
    return {"r": r, "alpha": alpha / scale, "s": s, "beta": beta / scale}


def _count(number: int, noun: str) -> str:
    return f"{number:,} {noun}" + ("" if number == 1 else "s")


def _fit_frequency(summary: pd.DataFrame, model: str) -> tuple[dict[str, float], float | None, str, int]:
    """Fit BG/NBD or Pareto/NBD on every customer (one-time buyers included).

    Returns (parameters, penalizer, why there are none, customers fitted on).
    """
    customers_count = len(summary)
    repeat_buyers = int((summary["frequency"] > 0).sum())
    if customers_count < MIN_CUSTOMERS or repeat_buyers < MIN_REPEAT_BUYERS:
        return (
            {},
            None,
            f"Too little data for the {MODEL_WORDS[model]} model: {_count(customers_count, 'customer')} and "
            f"{_count(repeat_buyers, 'repeat buyer')} (it needs at least {MIN_CUSTOMERS} and {MIN_REPEAT_BUYERS}). "
            "Showing historic CLV instead.",
            0,
        )
    if (summary["T"] <= 0).all():
        return (
            {},
            None,
            "Every customer bought for the first time on the as-of date; showing historic CLV instead.",
            0,
        )
    fitted_on = summary
    if model == "pareto" and customers_count > PARETO_FIT_CUSTOMERS:
        fitted_on = summary.sample(n=PARETO_FIT_CUSTOMERS, random_state=PARETO_SAMPLE_SEED)
    # Customers with the same (frequency, recency, T) have the same likelihood: fit each
    # pattern once, weighted by its count (exactly the same optimum, much less work).
    patterns = fitted_on.groupby(["frequency", "recency", "T"], sort=False).size().reset_index(name="weights")
    last_problem = "the optimizer did not converge"
    for penalizer in PENALIZERS:
        try:
            if model == "pareto":
                params = _quietly(lambda penalizer=penalizer: _fit_pareto(patterns, penalizer))
            else:
                fitter = _frequency_fitter(model, penalizer)
                _quietly(
                    lambda fitter=fitter: fitter.fit(
                        patterns["frequency"].to_numpy(),
                        patterns["recency"].to_numpy(dtype=float),
                        patterns["T"].to_numpy(dtype=float),
                        weights=patterns["weights"].to_numpy(),
                    )
                )
                params = {name: float(fitter.params_[name]) for name in MODEL_PARAMETERS[model]}
        except Exception as error:  # ConvergenceError, LinAlgError, ValueError from odd inputs
            last_problem = f"the fit failed ({type(error).__name__})"
            continue
        if not _finite_positive(params):
            last_problem = "the fitted parameters were not finite"
            continue
        if not _predicts_finite(model, params, patterns):
            # A flat likelihood can run off to parameters (a, b → ∞) the formulas cannot evaluate.
            last_problem = "the fitted parameters gave non-finite predictions"
            continue
        return params, penalizer, "", len(fitted_on)
    return (
        {},
        None,
        f"The {MODEL_WORDS[model]} model could not be fitted ({last_problem}); showing historic CLV instead.",
        0,
    )


def _predicts_finite(model: str, params: dict[str, float], patterns: pd.DataFrame) -> bool:
    """True when expected purchases over the longest customer age and P(alive) are finite for every pattern."""
    frequency = patterns["frequency"].to_numpy(dtype=float)
    recency = patterns["recency"].to_numpy(dtype=float)
    age = patterns["T"].to_numpy(dtype=float)
    horizon = max(float(age.max()), 1.0)
    alive = _probability_alive(model, params, frequency, recency, age)
    expected = _expected_purchases(model, params, horizon, frequency, recency, age, alive=alive)
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


def _boundary_caution(label: str, params: dict[str, float]) -> str:
    """A caution naming the shape parameters outside SHAPE_BOUNDS ("" when all are inside)."""
    low, high = SHAPE_BOUNDS
    off = {name: value for name, value in params.items() if name in SHAPE_PARAMETERS and not low <= value <= high}
    if not off:
        return ""
    listed = ", ".join(f"{name} = {value:.3g}" for name, value in off.items())
    return (
        f"The {label} fit is at a boundary ({listed}; sensible values lie between {low:g} and {high:g}): "
        "treat predictions with caution."
    )


def _fit_models(summary: pd.DataFrame, model: str) -> _Fit:
    if model not in MODELS:
        raise ValueError(f"model must be one of {MODELS}, not {model!r}")
    params, penalizer, message, fitted_customers = _fit_frequency(summary, model)
    if not params:
        return _Fit(model, {}, {}, None, None, message, "")
    monetary_params, monetary_penalizer, monetary_message = _fit_monetary(summary)
    cautions = [
        _boundary_caution(MODEL_WORDS[model], params),
        _boundary_caution("Gamma-Gamma", monetary_params),
    ]
    sample_note = ""
    if fitted_customers < len(summary):
        sample_note = (
            f"{MODEL_WORDS[model]} was fitted on a random sample of {fitted_customers:,} of the {len(summary):,} "
            "customers to keep the fit within seconds (seeded: the same data gives the same fit); every customer "
            "is scored with it."
        )
    return _Fit(
        model,
        params,
        monetary_params,
        penalizer,
        monetary_penalizer,
        "",
        monetary_message,
        fitted_customers,
        tuple(caution for caution in cautions if caution),
        sample_note,
    )


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


def _pareto_expected_purchases(
    params: dict[str, float], t: float, frequency: np.ndarray, age: np.ndarray, alive: np.ndarray
) -> np.ndarray:
    """Pareto/NBD expected repeat purchases in the next ``t`` units, given P(alive).

    Eq. 41 of Fader & Hardie's Pareto/NBD derivations, which lifetimes evaluates in one piece:
    P(alive) · (r + x)(β + T) / ((α + T)(s − 1)) · (1 − ((β + T) / (β + T + t))^(s − 1)).
    P(alive) holds the hypergeometric terms and does not depend on ``t``.
    """
    r, alpha, s, beta = (params[name] for name in MODEL_PARAMETERS["pareto"])
    remaining = (beta + age) / (beta + age + t)
    # s → 1: (1 − q^(s−1)) / (s − 1) → −ln q.
    growth = -np.log(remaining) if abs(s - 1) < 1e-9 else (1 - remaining ** (s - 1)) / (s - 1)
    return alive * (r + frequency) * (beta + age) / (alpha + age) * growth


def _expected_purchases(
    model: str,
    params: dict[str, float],
    t: float,
    frequency: np.ndarray,
    recency: np.ndarray,
    age: np.ndarray,
    *,
    alive: np.ndarray | None = None,
) -> np.ndarray:
    """Expected repeat purchases in the next ``t`` units for each customer.

    Pareto/NBD needs P(alive) (``alive``, computed when not given: pass it when calling often).
    """
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        if model == "bgnbd":
            return np.asarray(_bgnbd_expected_purchases(params, t, frequency, recency, age), dtype=float)
        if alive is None:
            alive = _probability_alive(model, params, frequency, recency, age)
        return np.asarray(_pareto_expected_purchases(params, t, frequency, age, alive), dtype=float)


def _probability_alive(
    model: str, params: dict[str, float], frequency: np.ndarray, recency: np.ndarray, age: np.ndarray
) -> np.ndarray:
    """P(alive) for each customer. lifetimes returns an ndarray (not a Series): keep it positional."""
    fitter = _fitter_from_params(model, params)
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        alive = np.asarray(fitter.conditional_probability_alive(frequency, recency, age), dtype=float)
    if model == "pareto":
        # Bought on the as-of date: alive for sure (A0 = 0), even where lifetimes' terms overflow (inf − inf).
        alive = np.where(np.isclose(recency, age) & ~np.isfinite(alive), 1.0, alive)
    return alive


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


# --- one customer (CLV page lookup, Customer 360) -----------------------------------------------
@dataclass(frozen=True)
class CustomerClv:
    """CLV of one customer: historic value, expected purchases and predicted (discounted) value
    over ``horizon`` months, P(alive) and the churn-risk flag with the rule that set it.

    Model values are None when the customer has no purchase or no model could be fitted
    (``message`` says why); ``p_alive`` is also None for a BG/NBD one-time buyer
    (``bought_once``: the model cannot tell, see ``churn_rule``). ``model`` names the model used.
    """

    customer_id: int
    name: str | None
    email: str | None
    as_of: date | None
    horizon: int
    model: str
    historic_value: float
    orders: int
    last_purchase: date | None
    bought_once: bool
    expected_purchases: float | None
    predicted_value: float | None
    p_alive: float | None
    churn_risk: bool | None
    churn_rule: str
    tier: str | None
    message: str


def customer_value(analysis: ClvAnalysis, customer_id: int) -> CustomerClv:
    """One customer's row of ``analysis`` (fitted once for everyone, so this costs nothing)."""
    frame = analysis.customers
    rows = frame[frame["customer_id"] == customer_id]
    if rows.empty:
        as_of = f"{analysis.as_of:%d %b %Y}" if analysis.as_of else "the as-of date"
        return CustomerClv(
            customer_id=customer_id,
            name=None,
            email=None,
            as_of=analysis.as_of,
            horizon=analysis.horizon,
            model=model_label(analysis),
            historic_value=0.0,
            orders=0,
            last_purchase=None,
            bought_once=False,
            expected_purchases=None,
            predicted_value=None,
            p_alive=None,
            churn_risk=None,
            churn_rule="",
            tier=None,
            message=f"No revenue orders up to {as_of}, so no lifetime value yet.",
        )
    row = rows.iloc[0]

    def optional(value: Any) -> float | None:
        return None if pd.isna(value) else float(value)

    bought_once = int(row["frequency"]) == 0
    return CustomerClv(
        customer_id=customer_id,
        name=None if pd.isna(row["name"]) else str(row["name"]),
        email=None if pd.isna(row.get("email")) else str(row["email"]),
        as_of=analysis.as_of,
        horizon=analysis.horizon,
        model=model_label(analysis),
        historic_value=float(row["historic_value"]),
        orders=int(row["orders"]),
        last_purchase=row["last_purchase"],
        bought_once=bought_once,
        expected_purchases=optional(row["expected_purchases"]),
        predicted_value=optional(row["predicted_value"]),
        p_alive=optional(row["p_alive"]),
        churn_risk=bool(row["churn_risk"]),
        churn_rule=churn_rule(analysis, bought_once=bought_once),
        tier=str(row["tier"]),
        message=analysis.message,
    )


def find_customers(analysis: ClvAnalysis, search: str = "", *, limit: int = 50) -> pd.DataFrame:
    """Customers of ``analysis`` whose name or email contains ``search`` (any case), highest CLV first.

    Columns: customer_id, label ("name · email"). At most ``limit`` rows; all customers when
    ``search`` is blank.
    """
    frame = analysis.customers
    if frame.empty:
        return pd.DataFrame({"customer_id": pd.Series(dtype="int64"), "label": pd.Series(dtype=object)})
    if "email" not in frame.columns:  # a hand-made summary (fit_and_score) may have none
        frame = frame.assign(email=None)
    text = search.strip().casefold()
    if text:
        names = frame["name"].fillna("").astype(str).str.casefold()
        emails = frame["email"].fillna("").astype(str).str.casefold()
        frame = frame[names.str.contains(text, regex=False) | emails.str.contains(text, regex=False)]
    ordered = frame.sort_values(["clv", "customer_id"], ascending=[False, True], kind="mergesort").head(limit)
    names = ordered["name"].fillna("(no name)").astype(str)
    emails = ordered["email"].fillna("").astype(str)
    labels = [
        f"{name} · {email}" if email and email != name else name for name, email in zip(names, emails, strict=True)
    ]
    return pd.DataFrame({"customer_id": ordered["customer_id"].to_numpy(), "label": labels})


def customer_clv(
    engine: Engine,
    customer_id: int,
    *,
    filters: Filters | None = None,
    as_of: date | None = None,
    unit: Unit = DEFAULT_UNIT,
    horizon: int = DEFAULT_HORIZON_MONTHS,
    model: ModelName = DEFAULT_MODEL,
) -> CustomerClv:
    """The CLV of one customer, scored by a model fitted on all customers matching ``filters``.

    The fit covers the whole population: on a page, pick the row from a cached analysis with
    ``customer_value`` instead.
    """
    analysis = clv_analysis(engine, filters, as_of=as_of, unit=unit, horizon=horizon, model=model)
    return customer_value(analysis, customer_id)


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
        "fitted_customers": analysis.fitted_customers,
        "cautions": list(analysis.cautions),
        "sample_note": analysis.sample_note or None,
        "one_time_churn_days": analysis.one_time_churn_days,
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


def benchmark_clv(
    engine: Engine, filters: Filters | None = None, *, model: ModelName = DEFAULT_MODEL
) -> dict[str, float]:
    """Seconds to build the RFM summary, fit the models and score every customer (``model``, weeks).

    total_seconds is summary + fit + score; importing lifetimes (once per process, about a
    second) is reported apart as import_seconds, and rescore_seconds is what a horizon change
    costs on the page (scoring only). fitted_customers < customers means a sampled fit.
    """
    started = time.perf_counter()
    import lifetimes  # noqa: F401 - timed apart: the app pays it once, not per fit

    import_seconds = time.perf_counter() - started
    fitted = fit_clv(engine, filters, model=model)
    analysis = score_clv(fitted)
    started = time.perf_counter()
    score_clv(fitted, horizon=2 * DEFAULT_HORIZON_MONTHS)
    rescore_seconds = time.perf_counter() - started
    timings = {name: round(value, 4) for name, value in analysis.timings.items()}
    timings["total_seconds"] = round(sum(analysis.timings.values()), 4)
    timings["rescore_seconds"] = round(rescore_seconds, 4)
    timings["import_seconds"] = round(import_seconds, 4)
    timings["customers"] = float(len(analysis.customers))
    timings["fitted_customers"] = float(analysis.fitted_customers)
    timings["fitted"] = float(analysis.fitted)
    return timings
