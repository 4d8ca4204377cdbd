"""Pulse CRM: analytics-first CRM for small B2C businesses.

Everything below ``crm.ui`` is plain Python (no Streamlit), so it can be used
from the CLI, tests and notebooks alike.
"""

__all__ = ["__version__"]

__version__ = "0.1.0"
