"""Figures and sections of the analytics pages, so each page reads as a short storyboard.

The figure builders that need no Streamlit live in ``crm.figures`` (the digest mails draw the same
figures); they are re-exported here so the views keep one import.
"""

from __future__ import annotations

from crm.figures import CHANGE_HELP, PARTIAL_PERIOD, change_text, period_bars, period_line

__all__ = ["CHANGE_HELP", "PARTIAL_PERIOD", "change_text", "period_bars", "period_line"]
