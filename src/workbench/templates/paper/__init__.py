"""{{title}} — arXiv {{arxiv}} ({{abs_url}})."""
