"""The records workspace: listing, search and validated, audited edits of every entity.

``list_records`` pages through any entity with server-side search/filters/sorting;
``apply_edits`` saves a data_editor's changes in one transaction with optimistic locking.
``crm.records.orders``, ``crm.records.inventory`` and ``crm.records.customer360`` hold the
order, stock and customer-profile logic.
"""

from crm.records.edits import EditOutcome, apply_edits, has_changes
from crm.records.entities import ENTITIES, EntitySpec, Field, entity_spec
from crm.records.listing import RecordPage, RecordQuery, escape_like, get_record, list_records, lookup_options

__all__ = [
    "ENTITIES",
    "EditOutcome",
    "EntitySpec",
    "Field",
    "RecordPage",
    "RecordQuery",
    "apply_edits",
    "entity_spec",
    "escape_like",
    "get_record",
    "has_changes",
    "list_records",
    "lookup_options",
]
