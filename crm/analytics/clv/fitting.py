"""Fitting the purchase model (BG/NBD or Pareto/NBD) and Gamma-Gamma, with their expected purchases and P(alive)."""

from __future__ import annotations

import contextlib
import io
import math
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from crm.analytics.clv.constants import (
    MIN_CUSTOMERS,
    MIN_REPEAT_BUYERS,
    MODEL_PARAMETERS,
    MODEL_WORDS,
    MODELS,
    MONETARY_PARAMETERS,
    PARETO_FIT_CUSTOMERS,
    PARETO_SAMPLE_SEED,
    PENALIZERS,
    SHAPE_BOUNDS,
    SHAPE_PARAMETERS,
)


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
