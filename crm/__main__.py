"""``python -m crm``: the command-line interface (see crm/cli/__init__.py)."""

from crm.cli import main

raise SystemExit(main())
