"""Pure domain logic: no boto3, pynamodb or powertools imports here."""
