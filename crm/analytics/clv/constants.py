"""Units, models, defaults and thresholds of the CLV analysis (one place for the page, Customer 360 and the CLI)."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Literal

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
