"""``python -m crm``: the command-line interface (see crm/cli.py)."""

from crm.cli import main

raise SystemExit(main())
