"""Command lines: `tool.py` is `python -m tinycore`; the app subcommands build on the same conventions."""
