"""Use cases, one module per feature; each takes its repositories and does no I/O itself."""
