"""Plans: what differs between a compiled bundle and a host, as a value (pure)."""
