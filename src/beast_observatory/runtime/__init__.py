"""Running a compiled stack on a host's Docker engine (through a Transport)."""
