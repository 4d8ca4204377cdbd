"""Where a refused grid save went wrong: the row and column of each problem ``apply_edits`` names.

``apply_edits`` words every problem as "Row 2 (id 7), Email: ..." or "New row 1, Phone: ...";
the grid turns them back into cells to mark, so the user sees which cell to fix.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from crm.records.entities import EntitySpec

__all__ = ["ProblemCell", "problem_cells"]

_PROBLEM = re.compile(r"^(?P<row>Row (?P<position>\d+)(?: \(id [^)]*\))?|New row (?P<new>\d+)), (?P<rest>.*)$", re.S)


@dataclass(frozen=True)
class ProblemCell:
    """One problem: the grid row it is on (``position``: 0-based on the page; ``new_row``: 1-based among
    added rows), the column's name and label (None when the whole row is meant), and the message."""

    row_label: str
    position: int | None
    new_row: int | None
    column: str | None
    column_label: str | None
    message: str


def problem_cells(spec: EntitySpec, problems: Iterable[str]) -> list[ProblemCell]:
    """Each problem of a refused save with its row and column; problems of no row keep only the message."""
    labels = {field.label: field.name for field in spec.fields} | {field.name: field.name for field in spec.fields}
    cells = []
    for problem in problems:
        match = _PROBLEM.match(problem)
        if not match:
            cells.append(ProblemCell("", None, None, None, None, problem))
            continue
        rest = match["rest"]
        column = label = None
        head, separator, message = rest.partition(": ")
        if separator and head in labels:
            column, label, rest = labels[head], head, message
        position = int(match["position"]) - 1 if match["position"] else None
        new_row = int(match["new"]) if match["new"] else None
        cells.append(ProblemCell(match["row"], position, new_row, column, label, rest))
    return cells
