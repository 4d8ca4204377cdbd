"""The sidebar's filters and the page address: a link opens its filters, the sidebar writes them
back, a mangled link warns, and saved views save, open, rename and delete (tiny_shop)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import select
from streamlit.testing.v1 import AppTest

from crm.db import init_database, make_engine
from crm.schema import audit_log
from tests.fixtures.tiny_shop import load_tiny_shop
from tests.ui.apptest_support import app_as, copy_database, shown_text


@pytest.fixture(scope="module")
def tiny_database(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("address-tiny") / "tiny.db"
    engine = make_engine(f"sqlite:///{path}")
    init_database(engine)
    load_tiny_shop(engine)
    engine.dispose()
    return path


def _filter_sentence(app: AppTest) -> str:
    # Lower case: the source's label (code or readable word) belongs to the vocabulary, not to this test.
    return shown_text(next(caption.value for caption in app.caption if "filter_alt" in caption.value)).lower()


def _address(app: AppTest, name: str) -> str:
    value = app.query_params[name]
    return value[-1] if isinstance(value, list) else value


def _open_overview(url: str, parameters: dict[str, str]) -> AppTest:
    app = app_as(url, "ada")
    app.run()
    app.switch_page("pages/overview.py")
    # A link opened in a session: its address holds only its own parameters.
    app.query_params.clear()
    for name, value in parameters.items():
        app.query_params[name] = value
    app.run()
    assert not app.exception, app.exception
    return app


def test_a_digest_link_opens_the_overview_with_exactly_its_filters(tiny_database: Path, tmp_path: Path) -> None:
    # What a digest mail links to: filters_to_query of its filters, no period preset.
    app = _open_overview(
        copy_database(tiny_database, tmp_path),
        {"start": "2025-01-01", "end": "2025-03-31", "sources": "website", "genders": "female"},
    )
    assert app.selectbox(key="filter_period").value == "Custom"
    assert app.date_input(key="filter_custom_range").value == (date(2025, 1, 1), date(2025, 3, 31))
    assert app.multiselect(key="filter_sources").value == ["website"]
    assert _filter_sentence(app).endswith("orders from 1 jan to 31 mar 2025, source: website, women")
    assert not app.sidebar.warning


def test_a_rolling_period_is_written_to_the_address_by_name(tiny_database: Path, tmp_path: Path) -> None:
    app = _open_overview(copy_database(tiny_database, tmp_path), {})
    app.selectbox(key="filter_period").set_value("Last 30 days")
    app.multiselect(key="filter_sources").set_value(["referral"])
    app.run()
    assert _address(app, "period") == "last-30-days"
    assert _address(app, "sources") == "referral"
    assert "start" not in app.query_params, "a rolling window is not frozen into days"


def test_a_mangled_link_opens_what_it_can_and_says_what_it_ignored(tiny_database: Path, tmp_path: Path) -> None:
    app = _open_overview(
        copy_database(tiny_database, tmp_path),
        {"period": "all-time", "sources": "website,carrier_pigeon", "age_from": "old"},
    )
    assert app.selectbox(key="filter_period").value == "All time"
    assert app.multiselect(key="filter_sources").value == ["website"]
    warning = app.sidebar.warning[0].value
    assert "carrier_pigeon" in warning and "age_from='old'" in warning
    assert _address(app, "sources") == "website", "the address is rewritten to what is shown"


def test_a_saved_view_is_saved_opened_renamed_and_deleted(tiny_database: Path, tmp_path: Path) -> None:
    url = copy_database(tiny_database, tmp_path)
    app = _open_overview(url, {"period": "all-time", "sources": "referral"})
    app.text_input(key="saved_views_name").input("Referrals")
    app.button(key="saved_views_save").click().run()
    assert not app.exception, app.exception
    assert any("Saved" in success.value for success in app.sidebar.success)

    # Change the filters, then open the view: the filters come back.
    app.multiselect(key="filter_sources").set_value(["website"]).run()
    app.selectbox(key="saved_views_pick").select_index(0).run()
    app.button(key="saved_views_open").click().run()
    assert not app.exception, app.exception
    assert app.multiselect(key="filter_sources").value == ["referral"]
    assert app.selectbox(key="filter_period").value == "All time"
    assert "source: referral" in _filter_sentence(app)

    app.selectbox(key="saved_views_pick").select_index(0).run()
    app.text_input(key=f"saved_views_rename_{_view_id(url)}").input("Word of mouth")
    app.button(key="saved_views_rename").click().run()
    assert any("Word of mouth" in success.value for success in app.sidebar.success)
    app.selectbox(key="saved_views_pick").select_index(0).run()
    app.button(key="saved_views_delete").click().run()
    assert any("Deleted" in success.value for success in app.sidebar.success)
    engine = make_engine(url)
    with engine.connect() as connection:
        logged = connection.execute(select(audit_log.c.action).where(audit_log.c.entity == "saved_views"))
        actions = list(logged.scalars())
    engine.dispose()
    assert actions == ["create", "update", "delete"]


def _view_id(url: str) -> int:
    from crm.schema import saved_views

    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            return int(connection.execute(select(saved_views.c.id)).scalar_one())
    finally:
        engine.dispose()


def test_a_view_saved_on_revenue_opens_revenue_from_another_page(tiny_database: Path, tmp_path: Path) -> None:
    app = app_as(copy_database(tiny_database, tmp_path), "ada")
    app.run()
    app.switch_page("pages/revenue.py").run()
    app.multiselect(key="filter_genders").set_value(["male"]).run()
    app.text_input(key="saved_views_name").input("Men").run()
    app.button(key="saved_views_save").click().run()
    app.switch_page("pages/cohorts.py").run()
    app.multiselect(key="filter_genders").set_value([]).run()
    app.selectbox(key="saved_views_pick").select_index(0).run()
    app.button(key="saved_views_open").click().run()
    assert not app.exception, app.exception
    assert app.title[0].value == "Revenue & transactions"
    assert app.multiselect(key="filter_genders").value == ["male"]
