"""Who may do what. Checked server-side by every page and every write/export function.

Roles (DESIGN.md): admin everything; manager all data and analytics but no user admin;
analyst analytics + exports, read-only records; agent records and tickets, no deletes,
no exports of personal data.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

__all__ = ["ROLE_PERMISSIONS", "Actor", "Permission", "PermissionDeniedError", "allowed", "require"]


class Permission(StrEnum):
    VIEW_ANALYTICS = "view_analytics"
    VIEW_RECORDS = "view_records"
    EDIT_RECORDS = "edit_records"
    DELETE_RECORDS = "delete_records"
    # Merge two customer records into one (moves every order, visit, ticket… to the survivor; crm.records.merge).
    MERGE_CUSTOMERS = "merge_customers"
    IMPORT_DATA = "import_data"
    # Tables that hold names, emails, phones or addresses.
    EXPORT_PERSONAL_DATA = "export_personal_data"
    # Aggregated analytics tables and charts (no personal data).
    EXPORT_AGGREGATES = "export_aggregates"
    # Create, change or close tickets; checked on top of EDIT_RECORDS (crm.records.edits.apply_edits).
    MANAGE_TICKETS = "manage_tickets"
    # Build, change and delete saved customer segments (crm.marketing.segments).
    MANAGE_SEGMENTS = "manage_segments"
    # Create, launch, send and export campaigns (crm.marketing.campaigns); managers and admins.
    LAUNCH_CAMPAIGNS = "launch_campaigns"
    # Set alert thresholds and who receives them (crm.notifications.alerts); managers and admins.
    MANAGE_ALERTS = "manage_alerts"
    # Edit the service desk's SLA targets (managers; agents work within them).
    MANAGE_SERVICE_SETTINGS = "manage_service_settings"
    # Knowledge base: every role reads published articles and the FAQ; agents write drafts;
    # managers publish them and edit the FAQ (crm.service.knowledge).
    READ_KNOWLEDGE_BASE = "read_knowledge_base"
    WRITE_ARTICLES = "write_articles"
    PUBLISH_ARTICLES = "publish_articles"
    MANAGE_USERS = "manage_users"
    # Loyalty earning rule, tier thresholds, manual point adjustments and balance rebuilds (crm.loyalty).
    MANAGE_LOYALTY = "manage_loyalty"
    VIEW_AUDIT = "view_audit"


ROLE_PERMISSIONS: dict[str, frozenset[Permission]] = {
    "admin": frozenset(Permission),
    "manager": frozenset(Permission) - {Permission.MANAGE_USERS, Permission.VIEW_AUDIT},
    "analyst": frozenset(
        {
            Permission.VIEW_ANALYTICS,
            Permission.VIEW_RECORDS,
            Permission.EXPORT_PERSONAL_DATA,
            Permission.EXPORT_AGGREGATES,
            Permission.MANAGE_SEGMENTS,
            Permission.READ_KNOWLEDGE_BASE,
        }
    ),
    "agent": frozenset(
        {
            Permission.VIEW_RECORDS,
            Permission.EDIT_RECORDS,
            Permission.MANAGE_TICKETS,
            Permission.EXPORT_AGGREGATES,
            Permission.READ_KNOWLEDGE_BASE,
            Permission.WRITE_ARTICLES,
        }
    ),
}


@dataclass(frozen=True)
class Actor:
    """The signed-in user on whose behalf a function runs (also written to the audit log)."""

    user_id: int | None
    username: str
    role: str

    @classmethod
    def system(cls) -> Actor:
        """The CLI and background jobs act as the built-in system administrator."""
        return cls(user_id=None, username="system", role="admin")


class PermissionDeniedError(PermissionError):
    """The actor's role does not allow the action; the message says which permission is missing."""


def allowed(role: str | None, permission: Permission) -> bool:
    return role is not None and permission in ROLE_PERMISSIONS.get(role, frozenset())


def require(actor: Actor, permission: Permission) -> None:
    """Raise ``PermissionDeniedError`` unless ``actor`` holds ``permission``."""
    if not allowed(actor.role, permission):
        raise PermissionDeniedError(f"Your role ({actor.role}) may not {permission.value.replace('_', ' ')}.")
