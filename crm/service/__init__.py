"""The service desk: tickets and their conversation (tickets.py), SLA targets (sla.py), ticket numbers
(numbering.py), and the knowledge base (knowledge.py). Nothing here imports streamlit."""
