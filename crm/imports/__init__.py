"""Importing customers, orders, transactions and products from CSV and Excel files.

``run_import`` is the one entry point (used by the wizard page and ``python -m crm import``):
read (encoding, delimiter, header row, sheet detected) -> map columns to fields -> validate
every cell -> find duplicates in the file and the database -> write in one transaction ->
``ImportReport``.
"""

from crm.imports.core import DUPLICATE_POLICIES, ImportError_, ImportReport, run_import
from crm.imports.fields import ENTITIES, IGNORE, fields_for
from crm.imports.mapping import (
    check_mapping,
    delete_mapping,
    list_mappings,
    load_mapping,
    save_mapping,
    suggest_mapping,
)
from crm.imports.reading import SUPPORTED_ENCODINGS, WHITESPACE, ParsedFile, read_source

__all__ = [
    "DUPLICATE_POLICIES",
    "ENTITIES",
    "IGNORE",
    "SUPPORTED_ENCODINGS",
    "WHITESPACE",
    "ImportError_",
    "ImportReport",
    "ParsedFile",
    "check_mapping",
    "delete_mapping",
    "fields_for",
    "list_mappings",
    "load_mapping",
    "read_source",
    "run_import",
    "save_mapping",
    "suggest_mapping",
]
