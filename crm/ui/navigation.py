"""The page registry: every page, its section, and the permission needed to open it.

Home.py builds ``st.navigation`` from this list, showing each role only the pages it may
open; each page also checks its permission itself (``require_page_permission``), so a
deep link or crafted session state cannot get around the menu.
"""

from __future__ import annotations

from dataclasses import dataclass

from crm.permissions import Permission, allowed

__all__ = ["PAGES", "PageSpec", "pages_for_role"]


@dataclass(frozen=True)
class PageSpec:
    path: str
    title: str
    icon: str
    section: str
    permission: Permission
    # Pages that read the shared filter sidebar (analytics) show it; record pages don't.
    uses_filters: bool = False


PAGES: tuple[PageSpec, ...] = (
    PageSpec("pages/overview.py", "Overview", ":material/dashboard:", "Analytics", Permission.VIEW_ANALYTICS, True),
    PageSpec("pages/revenue.py", "Revenue", ":material/payments:", "Analytics", Permission.VIEW_ANALYTICS, True),
    PageSpec(
        "pages/demographics.py", "Demographics", ":material/diversity_3:", "Analytics", Permission.VIEW_ANALYTICS, True
    ),
    PageSpec("pages/behavior.py", "Behaviour", ":material/insights:", "Analytics", Permission.VIEW_ANALYTICS, True),
    PageSpec(
        "pages/segmentation.py", "Segmentation", ":material/donut_small:", "Analytics", Permission.VIEW_ANALYTICS, True
    ),
    PageSpec("pages/cohorts.py", "Cohorts", ":material/grid_on:", "Analytics", Permission.VIEW_ANALYTICS, True),
    PageSpec("pages/clv.py", "Lifetime value", ":material/savings:", "Analytics", Permission.VIEW_ANALYTICS, True),
    PageSpec("pages/customers.py", "Customers", ":material/groups:", "Records", Permission.VIEW_RECORDS),
    PageSpec("pages/customer_360.py", "Customer 360", ":material/person_search:", "Records", Permission.VIEW_RECORDS),
    PageSpec("pages/orders.py", "Orders", ":material/receipt_long:", "Records", Permission.VIEW_RECORDS),
    PageSpec("pages/transactions.py", "Transactions", ":material/payments:", "Records", Permission.VIEW_RECORDS),
    PageSpec("pages/products.py", "Products", ":material/inventory_2:", "Records", Permission.VIEW_RECORDS),
    PageSpec("pages/inventory.py", "Inventory", ":material/warehouse:", "Records", Permission.VIEW_RECORDS),
    PageSpec("pages/catalog.py", "Catalogue", ":material/category:", "Records", Permission.VIEW_RECORDS),
    PageSpec("pages/activities.py", "Activities", ":material/event_note:", "Records", Permission.VIEW_RECORDS),
    PageSpec("pages/import.py", "Import data", ":material/upload_file:", "Data", Permission.IMPORT_DATA),
    PageSpec("pages/users.py", "Users", ":material/group:", "Admin", Permission.MANAGE_USERS),
    PageSpec("pages/audit.py", "Audit log", ":material/history:", "Admin", Permission.VIEW_AUDIT),
)


def pages_for_role(role: str | None) -> list[PageSpec]:
    """The pages ``role`` may open, in menu order."""
    return [page for page in PAGES if allowed(role, page.permission)]
