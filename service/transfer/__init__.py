"""Data in and out: imports from other comment systems, Parley's own export and restore."""
