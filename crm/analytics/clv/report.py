"""The CLI report and the CLV benchmark."""

from __future__ import annotations

import time
from typing import Any

from sqlalchemy import Engine

from crm.analytics.clv.constants import DEFAULT_HORIZON_MONTHS, DEFAULT_MODEL, ModelName
from crm.analytics.clv.model import fit_clv
from crm.analytics.clv.results import clv_overview, value_tiers
from crm.analytics.clv.scoring import ClvAnalysis, score_clv
from crm.filters import Filters


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
