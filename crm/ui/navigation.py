"""The page registry (every page, its section, the permission needed to open it) and the
``st.navigation`` that Home.py builds from it.

Each role's menu lists only the pages it may open; each page also checks its permission
itself (``require_page_permission``), so a deep link or crafted session state cannot get
around the menu.

Every page has its own address (``/overview``, ``/customers`` …) for every role that may
open it. Streamlit serves the default page only at ``/``, so the default is a hidden
landing page that switches to the role's first page: ``/`` ends up on ``/overview`` (or
``/my_work`` for agents), and that address can be bookmarked, shared and reloaded.
The addresses of pages a role may not open are registered too, hidden, as a page that says
"You don't have access to this page." (and runs nothing of the page).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import streamlit as st

from crm.permissions import Permission, allowed

__all__ = [
    "LANDING_URL_PATH",
    "NO_ACCESS_MESSAGE",
    "NO_ACCESS_TITLE",
    "PAGES",
    "PageSpec",
    "pages_for_role",
    "register_role_navigation",
    "register_signed_out_navigation",
    "run_public_page",
    "spec_of",
]

# Address of the hidden default page; it only forwards to the role's first page.
LANDING_URL_PATH = "start"
# What a user reads at the address of a page their role may not open (a hidden page per address).
NO_ACCESS_MESSAGE = "You don't have access to this page."
# Title (browser tab) of those hidden pages.
NO_ACCESS_TITLE = "No access"


@dataclass(frozen=True)
class PageSpec:
    path: str
    title: str
    icon: str
    section: str
    permission: Permission
    # Pages that read the shared filter sidebar (analytics) show it; record pages don't.
    uses_filters: bool = False

    @property
    def url_path(self) -> str:
        """The page's address below the app's root, the same before and after sign-in."""
        return Path(self.path).stem


PAGES: tuple[PageSpec, ...] = (
    PageSpec("pages/overview.py", "Overview", ":material/dashboard:", "Analytics", Permission.VIEW_ANALYTICS, True),
    PageSpec("pages/revenue.py", "Revenue", ":material/payments:", "Analytics", Permission.VIEW_ANALYTICS, True),
    PageSpec("pages/visits.py", "Visits", ":material/storefront:", "Analytics", Permission.VIEW_ANALYTICS, True),
    PageSpec(
        "pages/demographics.py", "Demographics", ":material/diversity_3:", "Analytics", Permission.VIEW_ANALYTICS, True
    ),
    PageSpec("pages/behavior.py", "Behaviour", ":material/insights:", "Analytics", Permission.VIEW_ANALYTICS, True),
    PageSpec(
        "pages/segmentation.py", "Segmentation", ":material/donut_small:", "Analytics", Permission.VIEW_ANALYTICS, True
    ),
    PageSpec("pages/cohorts.py", "Cohorts", ":material/grid_on:", "Analytics", Permission.VIEW_ANALYTICS, True),
    PageSpec("pages/clv.py", "Lifetime value", ":material/savings:", "Analytics", Permission.VIEW_ANALYTICS, True),
    PageSpec("pages/segments.py", "Segments", ":material/filter_alt:", "Marketing", Permission.MANAGE_SEGMENTS),
    PageSpec("pages/campaigns.py", "Campaigns", ":material/campaign:", "Marketing", Permission.VIEW_ANALYTICS),
    PageSpec("pages/service.py", "Service", ":material/support:", "Analytics", Permission.VIEW_ANALYTICS, True),
    # Before the records: the first page agents see, so it is their landing page (analysts cannot edit: no work list).
    PageSpec("pages/my_work.py", "My work", ":material/task_alt:", "Work", Permission.EDIT_RECORDS),
    PageSpec("pages/customers.py", "Customers", ":material/groups:", "Records", Permission.VIEW_RECORDS),
    PageSpec("pages/customer_360.py", "Customer 360", ":material/person_search:", "Records", Permission.VIEW_RECORDS),
    PageSpec("pages/orders.py", "Orders", ":material/receipt_long:", "Records", Permission.VIEW_RECORDS),
    PageSpec("pages/transactions.py", "Transactions", ":material/payments:", "Records", Permission.VIEW_RECORDS),
    PageSpec("pages/products.py", "Products", ":material/inventory_2:", "Records", Permission.VIEW_RECORDS),
    PageSpec("pages/inventory.py", "Inventory", ":material/warehouse:", "Records", Permission.VIEW_RECORDS),
    PageSpec("pages/catalog.py", "Catalogue", ":material/category:", "Records", Permission.VIEW_RECORDS),
    PageSpec("pages/activities.py", "Activities", ":material/event_note:", "Records", Permission.VIEW_RECORDS),
    PageSpec("pages/service_desk.py", "Service desk", ":material/support_agent:", "Service", Permission.MANAGE_TICKETS),
    PageSpec(
        "pages/knowledge_base.py", "Knowledge base", ":material/menu_book:", "Service", Permission.READ_KNOWLEDGE_BASE
    ),
    PageSpec("pages/import.py", "Import data", ":material/upload_file:", "Data", Permission.IMPORT_DATA),
    PageSpec("pages/users.py", "Users", ":material/group:", "Admin", Permission.MANAGE_USERS),
    PageSpec("pages/audit.py", "Audit log", ":material/history:", "Admin", Permission.VIEW_AUDIT),
    PageSpec("pages/notifications.py", "Notifications", ":material/notifications:", "You", Permission.VIEW_RECORDS),
    # The glossary of KPI names: every signed-in role holds VIEW_RECORDS.
    PageSpec("pages/definitions.py", "Definitions", ":material/menu_book:", "Help", Permission.VIEW_RECORDS),
)


# Pages anyone may open without signing in, when the request carries their query parameter (the proof):
# url path → (script, title, query parameter). An unsubscribe link carries its signed token.
PUBLIC_PAGES: dict[str, tuple[str, str, str]] = {
    "unsubscribe": ("pages/unsubscribe.py", "Unsubscribe", "token"),
    "unsubscribe-digest": ("pages/unsubscribe_digest.py", "Stop a digest", "digest"),
}


def run_public_page() -> bool:
    """Run the public page the request is for (e.g. an unsubscribe link), before any sign-in; True if one ran.

    Only requests carrying a public page's query parameter get this first, hidden navigation, so
    normal use of the app never resolves its page twice.
    """
    if not any(parameter in st.query_params for _path, _title, parameter in PUBLIC_PAGES.values()):
        return False
    public = [st.Page(path, title=title, url_path=url_path) for url_path, (path, title, _p) in PUBLIC_PAGES.items()]
    placeholders = [st.Page(_nothing, title="Sign in", url_path="sign-in", default=True)] + [
        st.Page(_nothing, title=spec.title, url_path=spec.url_path) for spec in PAGES
    ]
    placeholders.append(st.Page(_nothing, title="Pulse CRM", url_path=LANDING_URL_PATH))
    page = st.navigation(public + placeholders, position="hidden")
    if page.url_path not in PUBLIC_PAGES:
        return False
    page.run()
    return True


def pages_for_role(role: str | None) -> list[PageSpec]:
    """The pages ``role`` may open, in menu order."""
    return [page for page in PAGES if allowed(role, page.permission)]


def spec_of(page: st.Page) -> PageSpec | None:
    """The registry entry of a page ``st.navigation`` selected (None for the landing and no-access pages)."""
    if page.title == NO_ACCESS_TITLE:
        return None
    return next((spec for spec in PAGES if spec.url_path == page.url_path), None)


def register_signed_out_navigation() -> None:
    """A hidden navigation for visitors who are not signed in (or when the app cannot start).

    Without any ``st.navigation`` call Streamlit lists the raw ``pages/`` files in the
    sidebar. It holds every page's address (running nothing), so a deep link keeps its
    address through the sign-in form and opens that page right after sign-in.
    """
    st.navigation(
        [st.Page(_nothing, title="Sign in", url_path="sign-in", default=True)]
        + [st.Page(_nothing, title=spec.title, url_path=spec.url_path) for spec in PAGES],
        position="hidden",
    )


def register_role_navigation(role: str) -> st.Page | None:
    """The sidebar menu of ``role``'s pages by section; returns the page to run (None: no pages)."""
    specs = pages_for_role(role)
    if not specs:
        return None
    sections: dict[str, list[st.Page]] = {}
    for spec in specs:
        sections.setdefault(spec.section, []).append(
            st.Page(spec.path, title=spec.title, icon=spec.icon, url_path=spec.url_path)
        )
    first_page = sections[specs[0].section][0]
    sections[specs[0].section].insert(0, _landing_page(first_page))
    # The other pages keep their addresses, hidden, so a bookmark or typed URL says "no access"
    # instead of Streamlit's "Page not found" (which reads like a broken link).
    sections[specs[0].section].extend(_no_access_page(spec, role) for spec in PAGES if spec not in specs)
    return st.navigation(sections, expanded=True)  # every allowed page visible, no "View more"


def _nothing() -> None:
    """Body of the signed-out placeholders: Home.py stops before any page runs."""


def _no_access_page(spec: PageSpec, role: str) -> st.Page:
    """A hidden page at ``spec``'s address that only says the role may not open it (never runs the page)."""

    def refuse() -> None:
        st.title(spec.title)
        st.error(NO_ACCESS_MESSAGE, icon=":material/block:")
        st.caption(f"Your role ({role}) may not open this page. Ask an administrator if you need it.")

    return st.Page(refuse, title=NO_ACCESS_TITLE, url_path=spec.url_path, visibility="hidden")


def _landing_page(first_page: st.Page) -> st.Page:
    def open_first_page() -> None:
        st.switch_page(first_page)

    return st.Page(open_first_page, title="Pulse CRM", url_path=LANDING_URL_PATH, default=True, visibility="hidden")
