"""Shared Hydra config groups, found as pkg://workbench.configs by every paper's primary config."""
