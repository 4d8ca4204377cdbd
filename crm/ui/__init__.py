"""Streamlit components shared by the pages. The only part of ``crm`` that imports streamlit."""
