"""Analytics: every function takes an engine and a ``Filters`` and aggregates in SQL."""
