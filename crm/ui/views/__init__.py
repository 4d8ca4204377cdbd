"""Figures and sections of the analytics pages, so each page reads as a short storyboard."""

from __future__ import annotations

from crm.analytics.overview import DEFINITIONS, PeriodComparison

__all__ = ["CHANGE_HELP", "change_text"]

CHANGE_HELP = "The arrow compares with the equally long period before (" + DEFINITIONS["change"] + ")."


def change_text(comparison: PeriodComparison, name: str) -> str | None:
    """'+12.5%' change of ``name`` against the previous period, or None where there is none."""
    change = comparison.change(name)
    return None if change is None else f"{change:+.1%}"
