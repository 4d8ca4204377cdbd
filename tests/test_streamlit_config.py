"""The Streamlit settings that keep data and internals from leaking to users."""

from __future__ import annotations

import tomllib
from pathlib import Path

CONFIG = tomllib.loads((Path(__file__).resolve().parents[1] / ".streamlit" / "config.toml").read_text())


def test_tables_offer_no_built_in_download_that_would_skip_role_checks_and_the_audit_log() -> None:
    assert CONFIG["client"]["disableDataExport"] is True


def test_users_see_no_tracebacks() -> None:
    assert CONFIG["client"]["showErrorDetails"] == "none"


def test_uploads_are_limited_but_fit_a_100k_row_import() -> None:
    assert 20 <= CONFIG["server"]["maxUploadSize"] <= 1024
