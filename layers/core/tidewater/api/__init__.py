"""Request/response plumbing shared by the HTTP functions."""
