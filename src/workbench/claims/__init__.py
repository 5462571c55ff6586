"""`workbench claims`: the claims.yaml and deviations.yaml schema (schema) and candidate review (review)."""
