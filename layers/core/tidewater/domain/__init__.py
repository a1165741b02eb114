"""Pure logic (datums, summary, clinic, donation, identity, cursor): no I/O, boto3 or pynamodb."""
