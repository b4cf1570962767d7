"""Performance measurement: ``ganforge bench`` (see bench.py) and the measurements behind it (measure.py)."""
