"""Backups of a stack's data: what to copy (data), the archive's manifest and file (manifest,
archive), and copying over a transport under the host lock (host)."""
