"""The observatory spec: pydantic models, loading, environment merging and cross-file checks."""
