"""`workbench fetch`: arXiv ids and downloads (arxiv), safe e-print unpacking (eprint), LaTeX reading (latex), the paper folder (scaffold)."""
