"""Paper folders: one package per re-implemented paper (docs/paper-folder.md)."""
