"""Data in the lake: `sources` (reading uploads), `datasets` (versions), `profile` (statistics),
`cohorts` (saved filters), `usecases` (the business question) and `demo` (the built-in credit data)."""

__all__ = ["cohorts", "datasets", "demo", "profile", "sources", "usecases"]
