"""The benchmark harness: `python -m bench` (or `make bench`) measures the gateway under load.

It measures and prints; it never asserts (STYLE rule 11). See bench/run.py for the flow.
"""
