"""Putting a compiled bundle on a host: targets, file sync, releases."""
