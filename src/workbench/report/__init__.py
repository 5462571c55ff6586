"""`workbench report` and `workbench export`: runs against claims (compare, stats), REPORT.md, report.html, comparison.json, figures, publishing."""
