"""Stored CLV fits: reused by another process while the data is unchanged, refitted after a change."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date

import pandas as pd
import pytest
from sqlalchemy import Engine, func, select

import crm.analytics.clv.stored as stored
from crm.analytics.clv import fit_clv
from crm.analytics.clv.stored import load_or_fit_clv, refit_clv
from crm.audit import record_audit
from crm.db import make_engine
from crm.demo import DemoSize, generate_demo
from crm.filters import Filters
from crm.permissions import Actor
from crm.schema import clv_fits

END = date(2025, 6, 30)
FILTERS = Filters(end_date=END, today=END)


@pytest.fixture
def shop(engine: Engine) -> Engine:
    generate_demo(engine, DemoSize(customers=150, orders=900), seed=5, end_date=END)
    return engine


@pytest.fixture
def other_process(shop: Engine) -> Iterator[Engine]:
    """A second engine on the same database, as another app server would open it."""
    other = make_engine(shop.url.render_as_string(hide_password=False))
    yield other
    other.dispose()


def _count_fits(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    calls: list[int] = []

    def counting_fit(*args, **kwargs):
        calls.append(1)
        return fit_clv(*args, **kwargs)

    monkeypatch.setattr(stored, "fit_clv", counting_fit)
    return calls


def test_a_stored_fit_equals_a_fresh_fit(shop: Engine) -> None:
    fresh = fit_clv(shop, FILTERS, unit="W", model="bgnbd")
    load_or_fit_clv(shop, FILTERS, unit="W", model="bgnbd")
    loaded = load_or_fit_clv(shop, FILTERS, unit="W", model="bgnbd")
    assert loaded.timings["stored"] == 1.0
    assert loaded.fitted and loaded.params == fresh.params
    assert loaded.monetary_params == fresh.monetary_params
    assert (loaded.as_of, loaded.holdout_end, loaded.first_order_day) == (
        fresh.as_of,
        fresh.holdout_end,
        fresh.first_order_day,
    )
    assert loaded.summary.attrs["unit"] == "W"
    pd.testing.assert_frame_equal(loaded.summary, fresh.summary, check_like=False)


def test_another_process_reuses_the_stored_fit_without_fitting(
    shop: Engine, other_process: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = load_or_fit_clv(shop, FILTERS)
    calls = _count_fits(monkeypatch)
    second = load_or_fit_clv(other_process, FILTERS)
    assert calls == []
    assert second.params == first.params
    assert second.token != first.token  # a new object for the page's score cache


def test_a_data_change_makes_the_next_load_refit(
    shop: Engine, other_process: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    load_or_fit_clv(shop, FILTERS)
    with shop.begin() as connection:
        record_audit(connection, Actor(None, "ada", "admin"), "update", "customers", 1, after={"city": "Oslo"})
    calls = _count_fits(monkeypatch)
    load_or_fit_clv(other_process, FILTERS)
    load_or_fit_clv(shop, FILTERS)
    assert calls == [1]  # fitted once after the change, then reused by the other process
    with shop.connect() as connection:
        assert connection.execute(select(func.count()).select_from(clv_fits)).scalar_one() == 1


def test_other_inputs_are_fitted_separately_and_a_refit_replaces_the_stored_fit(
    shop: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    load_or_fit_clv(shop, FILTERS, unit="W")
    calls = _count_fits(monkeypatch)
    load_or_fit_clv(shop, FILTERS, unit="D")
    load_or_fit_clv(shop, FILTERS, as_of=date(2025, 3, 31), unit="W")
    assert len(calls) == 2
    refit_clv(shop, FILTERS, unit="W")
    assert len(calls) == 3
    load_or_fit_clv(shop, FILTERS, unit="W")
    assert len(calls) == 3
    with shop.connect() as connection:
        assert connection.execute(select(func.count()).select_from(clv_fits)).scalar_one() == 3
