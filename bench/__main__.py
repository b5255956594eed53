"""`python -m bench`: the one command that runs every benchmark (see bench/run.py)."""

from bench.run import main

raise SystemExit(main())
