"""The only place pynamodb and boto3 appear: models, keys and repositories."""
