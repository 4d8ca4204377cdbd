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

The fitted lifetimes objects never leave this package (they hold lambdas that cannot be
pickled, and ``st.cache_data`` pickles results); results carry the parameters instead.

The package follows those stages: ``constants``, ``summary`` (SQL), ``fitting`` (lifetimes), ``model``
(``fit_clv``), ``scoring`` (``score_clv``), ``results`` (shapes for the page) and ``report`` (CLI, bench).
"""

from __future__ import annotations

from crm.analytics.clv.constants import (
    CHURN_PROBABILITY,
    DEFAULT_HORIZON_MONTHS,
    DEFAULT_MODEL,
    DEFAULT_UNIT,
    FALLBACK_CHURN_DAYS,
    MODEL_WORDS,
    MODELS,
    MONTHLY_DISCOUNT_RATE,
    ONE_TIME_CHURN_QUANTILE,
    PARETO_FIT_CUSTOMERS,
    SHAPE_BOUNDS,
    TIERS,
    UNIT_DAYS,
    UNIT_WORDS,
    UNITS,
    ModelName,
    Unit,
)
from crm.analytics.clv.model import MONETARY_CORRELATION_WARNING, ClvModel, fit_clv, fit_summary
from crm.analytics.clv.report import benchmark_clv, clv_report
from crm.analytics.clv.results import (
    ClvOverview,
    CustomerClv,
    clv_by_source,
    clv_overview,
    cohort_clv_trend,
    customer_clv,
    customer_value,
    find_customers,
    top_customers,
    value_tiers,
)
from crm.analytics.clv.scoring import ClvAnalysis, churn_rule, clv_analysis, fit_and_score, model_label, score_clv
from crm.analytics.clv.summary import last_order_day, order_days, rfm_summary

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
    "ModelName",
    "Unit",
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
