"""Use cases. Each takes its repositories as arguments and does no I/O of its own."""
