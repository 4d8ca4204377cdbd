"""``python -m crm clv``: fit BG/NBD (or Pareto/NBD) + Gamma-Gamma and print CLV.

``--json`` prints the fitted parameters under lifetimes' names (r, alpha, a, b or
r, alpha, s, beta; p, q, v), cautions (a fit at a boundary, a sampled Pareto/NBD fit),
counts, the overview and, when ``--as-of`` leaves a holdout, the predicted vs actual
purchases and the total error. Defaults (weeks, 12 months, BG/NBD) are the CLV page's.
"""

from __future__ import annotations

import argparse
import json
import math
from datetime import date
from typing import Any

from sqlalchemy import Engine

from crm.analytics.clv import (
    DEFAULT_HORIZON_MONTHS,
    DEFAULT_MODEL,
    DEFAULT_UNIT,
    MODEL_WORDS,
    MODELS,
    UNIT_WORDS,
    UNITS,
    clv_analysis,
    clv_report,
)
from crm.filters import Filters
from crm.settings import get_settings

__all__ = ["register"]


def _positive(text: str) -> int:
    value = int(text)
    if value <= 0:
        raise argparse.ArgumentTypeError("must be a positive number")
    return value


def _json_safe(value: Any) -> Any:
    """NaN is not JSON: write null instead."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {key: _json_safe(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_json_safe(item) for item in value]
    return value


def _print_text(report: dict[str, Any]) -> None:
    if not report["counts"]["customers"]:
        # Nothing was bought up to the as-of date (or at all): say why instead of an empty table.
        print(report["message"] or "No revenue orders match these filters.")
        return
    print(f"CLV as of {report['as_of']} ({UNIT_WORDS[report['unit']]}), horizon {report['horizon_months']} months")
    if report["message"]:
        print(f"note: {report['message']}")
    for caution in report["cautions"]:
        print(f"caution: {caution}")
    if report["sample_note"]:
        print(f"note: {report['sample_note']}")
    if report["params"]:
        params = ", ".join(f"{name}={value:.4f}" for name, value in report["params"].items())
        print(f"{MODEL_WORDS[report['model']]}: {params}")
    if report["gamma_gamma"]:
        print("Gamma-Gamma: " + ", ".join(f"{name}={value:.4f}" for name, value in report["gamma_gamma"].items()))
    elif report["gamma_gamma_message"]:
        print(f"note: {report['gamma_gamma_message']}")
    for name, value in report["counts"].items():
        print(f"{name.replace('_', ' '):<24}{value:>12,}")
    overview = report["overview"]
    print(f"{'average CLV':<24}{overview['average_clv']:>12,.2f}  ({overview['value_basis']})")
    print(f"{'total CLV':<24}{overview['total_clv']:>12,.2f}")
    print(f"{'average order value':<24}{overview['average_order_value']:>12,.2f}")
    print(f"{'purchase frequency':<24}{overview['purchase_frequency']:>12,.2f}")
    print(f"{'average lifespan (days)':<24}{overview['average_lifespan_days']:>12,.1f}")
    holdout = report.get("holdout")
    if holdout:
        print(
            f"holdout {holdout['holdout_start']} – {holdout['holdout_end']}: predicted "
            f"{holdout['predicted_purchases']:,.1f} vs actual {holdout['actual_purchases']:,.0f} repeat purchases "
            f"(error {holdout['total_error']:+.1%})"
        )


def _clv(args: argparse.Namespace, engine: Engine) -> int:
    settings = get_settings()
    filters = Filters(timezone_name=settings.timezone_name)
    analysis = clv_analysis(engine, filters, as_of=args.as_of, unit=args.unit, horizon=args.horizon, model=args.model)
    report = _json_safe(clv_report(analysis))
    if args.json:
        print(json.dumps(report, indent=2, default=str))
    else:
        _print_text(report)
    return 0


def register(commands: Any, handlers: dict[str, Any]) -> None:
    parser = commands.add_parser("clv", help="customer lifetime value (BG/NBD + Gamma-Gamma)")
    parser.add_argument(
        "--as-of", type=date.fromisoformat, default=None, help="end of the calibration period (default: last order)"
    )
    parser.add_argument(
        "--unit", choices=UNITS, default=DEFAULT_UNIT, help=f"time unit of the RFM summary (default {DEFAULT_UNIT})"
    )
    parser.add_argument(
        "--horizon", type=_positive, default=DEFAULT_HORIZON_MONTHS, help="prediction horizon in months"
    )
    parser.add_argument(
        "--model", choices=MODELS, default=DEFAULT_MODEL, help=f"purchase model (default {DEFAULT_MODEL})"
    )
    parser.add_argument("--json", action="store_true", help="print a JSON report")
    handlers["clv"] = _clv
