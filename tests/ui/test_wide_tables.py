"""Wide analytics tables keep their first column in place and say that they scroll (issue 17, item 9)."""

from __future__ import annotations

from streamlit.testing.v1 import AppTest


def _table_page(columns: int) -> AppTest:
    def page(columns: int) -> None:
        import pandas as pd

        from crm.ui.widgets import data_table

        frame = pd.DataFrame(
            {"source": ["website", "store"], **{f"measure_{n}": [n, n + 1] for n in range(columns - 1)}}
        )
        data_table(frame)

    return AppTest.from_function(page, args=(columns,), default_timeout=30).run()


def test_a_table_wider_than_a_laptop_page_says_it_scrolls_and_pins_its_first_column() -> None:
    app = _table_page(9)
    assert not app.exception
    assert [caption.value for caption in app.caption] == [
        ":material/swap_horiz: 9 columns: scroll the table sideways to see them all."
    ]
    config = app.dataframe[0].proto.columns  # the column configuration sent to the browser, as JSON
    assert '"source": {"label": "Source", "pinned": true}' in config.replace("\\n", "")


def test_a_narrow_table_says_nothing_about_scrolling() -> None:
    app = _table_page(4)
    assert not app.exception
    assert list(app.caption) == []
