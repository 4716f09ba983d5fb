"""Pure renderers: a resolved Stack (plus referenced file contents) -> Bundle of files."""
