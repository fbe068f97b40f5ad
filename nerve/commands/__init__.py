"""Subcommands of the ``nerve`` command, one module each (see nerve/cli.py)."""
