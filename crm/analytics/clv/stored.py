"""CLV fits stored in the database and shared by every server process (table ``clv_fits``).

The fit (``fit_clv``: the RFM summary query plus the model fits) is the slowest thing the app
computes. Keeping it only in a process's memory meant every server refitted after each restart,
each write and each cache expiry. Here it is stored once per (filters, as-of date, unit, model)
together with the data version it was computed at (crm/data_version.py):

* ``load_or_fit_clv`` returns the stored fit while the data version is unchanged, whichever
  process stored it, and fits (and stores) otherwise;
* ``refit_clv`` fits and replaces the stored fit at once (the page's Refit button).

What is stored: the parameters and every other field of ``ClvModel`` as JSON, and the RFM
summary as Parquet (columnar, compact, no code execution on load, unlike a pickle). Stored
fits are a cache, not business data: writing them bumps no data version and writes no audit
row, and storing a fit prunes those of older data versions.
"""

from __future__ import annotations

import hashlib
import io
import json
from datetime import date
from typing import Any

import pandas as pd
from sqlalchemy import Engine, delete, select
from sqlalchemy.exc import IntegrityError

from crm.analytics.clv.constants import DEFAULT_MODEL, DEFAULT_UNIT, ModelName, Unit
from crm.analytics.clv.model import ClvModel, fit_clv
from crm.data_version import read_data_version
from crm.filters import Filters
from crm.schema import clv_fits, utc_now

__all__ = ["fit_key", "load_or_fit_clv", "refit_clv", "stored_fit"]

_DATE_FIELDS = ("as_of", "holdout_end", "first_order_day")


def fit_key(filters: Filters, *, as_of: date | None, unit: str, model: str) -> tuple[str, str]:
    """(sha-256 key, readable description) of one fit's inputs; the description is stored for people."""
    description = repr((filters, as_of, unit, model))
    return hashlib.sha256(description.encode()).hexdigest(), description


def _to_json(fitted: ClvModel) -> str:
    values: dict[str, Any] = {
        "unit": fitted.unit,
        "model": fitted.model,
        "params": fitted.params,
        "monetary_params": fitted.monetary_params,
        "penalizer": fitted.penalizer,
        "message": fitted.message,
        "monetary_message": fitted.monetary_message,
        "cautions": list(fitted.cautions),
        "fitted_customers": fitted.fitted_customers,
        "sample_note": fitted.sample_note,
        "holdout": None if fitted.holdout is None else fitted.holdout.to_json(orient="split", index=False),
        "holdout_error": fitted.holdout_error,
        "monetary_correlation": fitted.monetary_correlation,
        "one_time_churn_days": fitted.one_time_churn_days,
        "timings": fitted.timings,
    }
    for name in _DATE_FIELDS:
        value = getattr(fitted, name)
        values[name] = None if value is None else value.isoformat()
    return json.dumps(values, allow_nan=True)


def _parquet(summary: pd.DataFrame) -> bytes:
    buffer = io.BytesIO()
    summary.to_parquet(buffer, index=True)
    return buffer.getvalue()


def _from_row(model_json: str, summary_parquet: bytes) -> ClvModel:
    values = json.loads(model_json)
    summary = pd.read_parquet(io.BytesIO(summary_parquet))
    for column in summary.columns:
        if isinstance(summary[column].dtype, pd.StringDtype):  # text comes back as object, as from SQL
            summary[column] = summary[column].astype(object)
    summary.attrs["unit"] = values["unit"]  # fitting and scoring check the summary's unit
    holdout = values.pop("holdout")
    dates = {name: None if values[name] is None else date.fromisoformat(values.pop(name)) for name in _DATE_FIELDS}
    return ClvModel(
        summary=summary,
        holdout=None if holdout is None else pd.read_json(io.StringIO(holdout), orient="split"),
        cautions=tuple(values.pop("cautions")),
        **{name: value for name, value in values.items() if name not in _DATE_FIELDS},
        **dates,
    )


def stored_fit(
    engine: Engine, filters: Filters, *, as_of: date | None, unit: str, model: str, data_version: int
) -> ClvModel | None:
    """The fit stored for these inputs at ``data_version``, or None when there is none."""
    key, _ = fit_key(filters, as_of=as_of, unit=unit, model=model)
    with engine.connect() as connection:
        row = connection.execute(
            select(clv_fits.c.model_json, clv_fits.c.summary_parquet).where(
                clv_fits.c.fit_key == key, clv_fits.c.data_version == data_version
            )
        ).first()
    return None if row is None else _from_row(row.model_json, bytes(row.summary_parquet))


def _store(engine: Engine, fitted: ClvModel, filters: Filters, *, as_of: date | None, data_version: int) -> None:
    key, description = fit_key(filters, as_of=as_of, unit=fitted.unit, model=fitted.model)
    try:
        with engine.begin() as connection:
            # Replace this key's fit, and drop fits of older data: nobody can ask for them again.
            connection.execute(
                delete(clv_fits).where((clv_fits.c.fit_key == key) | (clv_fits.c.data_version < data_version))
            )
            connection.execute(
                clv_fits.insert().values(
                    fit_key=key,
                    description=description,
                    data_version=data_version,
                    unit=fitted.unit,
                    model=fitted.model,
                    as_of=fitted.as_of,
                    fitted_at=utc_now(),
                    model_json=_to_json(fitted),
                    summary_parquet=_parquet(fitted.summary),
                )
            )
    except IntegrityError:
        # Another process stored the same fit at the same moment (PostgreSQL): theirs is as good.
        pass


def refit_clv(
    engine: Engine,
    filters: Filters | None = None,
    *,
    as_of: date | None = None,
    unit: Unit = DEFAULT_UNIT,
    model: ModelName = DEFAULT_MODEL,
) -> ClvModel:
    """Fit now and replace the stored fit for these inputs (the Refit button)."""
    filters = filters or Filters()
    data_version = read_data_version(engine)  # read before the data: a later write makes the fit refit
    fitted = fit_clv(engine, filters, as_of=as_of, unit=unit, model=model)
    _store(engine, fitted, filters, as_of=as_of, data_version=data_version)
    return fitted


def load_or_fit_clv(
    engine: Engine,
    filters: Filters | None = None,
    *,
    as_of: date | None = None,
    unit: Unit = DEFAULT_UNIT,
    model: ModelName = DEFAULT_MODEL,
) -> ClvModel:
    """``fit_clv``'s result, from the database while the data is unchanged, else fitted and stored.

    ``engine`` must be writable (the primary), since a new fit is stored. Same arguments as
    ``fit_clv``; ``timings["stored"]`` is 1.0 when the fit was loaded.
    """
    filters = filters or Filters()
    data_version = read_data_version(engine)
    found = stored_fit(engine, filters, as_of=as_of, unit=unit, model=model, data_version=data_version)
    if found is not None:
        found.timings = {**found.timings, "stored": 1.0}
        return found
    return refit_clv(engine, filters, as_of=as_of, unit=unit, model=model)
