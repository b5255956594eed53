"""`python -m gateway`: the same command line as the `gateway` entry point."""

from gateway.cli import main

raise SystemExit(main())
