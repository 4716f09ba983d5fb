"""Discover a live host: what runs there, how it is configured, and how to rebuild it.

- the probe (``host/probe/``) runs on the host (one round trip) and prints JSON lines, secrets
  redacted there: ``build.py`` stitches its parts into one script, ``run.py`` sends it through
  a Transport (the only host IO of discovery), ``parse.py`` turns its output into the typed
  inventory of ``inventory.py`` (pure);
- ``report.py`` writes ``inventory.json`` and ``DISCOVERY.md``;
- ``export.py`` maps an inventory to a spec (pure): ``context.py`` holds what the mapping
  needs (files, secrets, names), each service kind reads itself (``kinds/<kind>/read.py``);
- ``commands.py`` is what the CLI's discover, export and import commands do (IO).
"""
