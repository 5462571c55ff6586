"""Paper folders: one package per re-implemented paper (see DESIGN.md, "A paper folder")."""
