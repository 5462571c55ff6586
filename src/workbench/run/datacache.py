"""Generated data sets cached on disk, so that every process of a sweep does not build them again.

A paper whose data is made by code (MNIST-1D's make_dataset takes seconds, every process) calls
`cached_arrays(name, key, build)`: the first call runs `build()` and keeps its numpy arrays in
<cache>/data/<name>-<hash of key>.npz (cache = $WORKBENCH_CACHE, default ~/.cache/workbench),
written atomically, so processes side by side never read half a file; later calls load it. The
key must hold everything the arrays depend on (the generator's version and arguments). A file
that cannot be read is rebuilt, and a cache folder that cannot be written only costs the time.
Runs record their data's fingerprint (provenance.json), whichever way it came.
"""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from workbench.files import atomic_write_bytes, workbench_cache


def cache_dir() -> Path:
    return workbench_cache() / "data"


def cached_arrays(name: str, key: dict[str, Any], build: Callable[[], dict[str, np.ndarray]]) -> dict[str, np.ndarray]:
    """build()'s arrays, from <cache>/data/ when an earlier call with the same name and key made them."""
    digest = hashlib.sha256(json.dumps(key, sort_keys=True, default=str).encode()).hexdigest()[:16]
    path = cache_dir() / f"{name}-{digest}.npz"
    try:
        with np.load(path, allow_pickle=False) as stored:
            return {k: stored[k] for k in stored.files}
    except (OSError, ValueError, zipfile.BadZipFile, EOFError):  # absent or unreadable: build it again
        pass
    arrays = {k: np.asarray(v) for k, v in build().items()}
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_bytes(path, buffer.getvalue())
    except OSError:
        pass  # a read-only or full cache folder: the data is still right, only not kept
    return arrays
