"""The import wizard's dry run shows what the import assumed (issue 11, part 7) before anything is written."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from crm.db import init_database, make_engine
from tests.fixtures.tiny_shop import load_tiny_shop
from tests.ui.apptest_support import app_as


@pytest.fixture
def shop_url(tmp_path: Path) -> str:
    """A SQLite tiny shop (ada is an admin)."""
    url = f"sqlite:///{tmp_path / 'shop.db'}"
    engine = make_engine(url)
    init_database(engine)
    load_tiny_shop(engine)
    engine.dispose()
    return url


def _plain(markdown_source: str) -> str:
    """The text a reader sees of Markdown whose punctuation was backslash-escaped."""
    return re.sub(r"\\([!-/:-@\[-`{-~])", r"\1", markdown_source)


FILE = (
    b"name,email,birth date,email\n"
    b"Finn,finn@example.com,03/04/1990,finn.work@example.com\n"
    b"Gus,gus@example.com,05/06/1991,\n"
)


def test_the_dry_run_warns_about_ambiguous_dates_and_a_left_out_repeated_column(shop_url: str) -> None:
    app = app_as(shop_url, "ada")
    app.run()
    app.switch_page("pages/import.py").run()
    app.selectbox(key="wizard_entity").set_value("customers")
    app.file_uploader(key="wizard_file_0").upload("people.csv", FILE, "text/csv").run()
    app.button(key="next_upload").click().run()
    app.button(key="next_reading").click().run()
    app.button(key="next_mapping").click().run()
    assert not app.exception

    warnings = [_plain(warning.value) for warning in app.warning]
    assert any(
        warning.startswith(
            "birth date: dates such as '03/04/1990' could be day/month or month/day; read as month/day/year (March 4)"
        )
        and warning.endswith("(rows 2, 3).")
        for warning in warnings
    ), warnings
    assert any(warning.startswith("email (2): column 4 repeats the header 'email'") for warning in warnings), warnings
    behind = app.dataframe[-1].value
    assert behind[["column", "rows"]].to_dict("records") == [
        {"column": "email (2)", "rows": "2"},
        {"column": "birth date", "rows": "2, 3"},
    ]
