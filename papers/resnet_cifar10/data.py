"""CIFAR-10 for "Deep Residual Learning for Image Recognition" (arXiv 1512.03385, §4.2).

The data cannot be fetched on every machine, so it is read from a folder the user names
(`data.root`): the standard "CIFAR-10 python version", cifar-10-batches-py/ with data_batch_1..5
and test_batch, each a pickled dict {b"data": uint8 N×3072 (R, G, B planes of 32×32), b"labels":
[int]}. With `data.download=true` and a network, the archive is fetched into `data.root` first.

Why a restricted unpickler: unpickling runs whatever constructors the file names, so a tampered
file could run code on load (a shell command, say). The CIFAR batches need only built-in containers
and numpy's array reconstruction, so `CifarUnpickler.find_class` allows exactly those and refuses
anything else with an error naming the file.
"""

from __future__ import annotations

import hashlib
import pickle
import shutil
import tarfile
import tempfile
import urllib.request
from pathlib import Path
from typing import Any

import numpy as np

from workbench import UserError

URL = "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz"
MD5 = "c58f30108f718f92721af3b95e74349a"  # as published on https://www.cs.toronto.edu/~kriz/cifar.html
FOLDER = "cifar-10-batches-py"
TRAIN_FILES = [f"data_batch_{i}" for i in range(1, 6)]
TEST_FILE = "test_batch"
WHERE_TO_GET = (f"download the CIFAR-10 python version from {URL} (see https://www.cs.toronto.edu/~kriz/cifar.html), "
                f"extract it, and pass data.root=/path/to/{FOLDER}; or set data.download=true on a machine with a network")

# Globals a CIFAR-10 pickle may name: numpy's ndarray reconstruction (numpy 1 and 2 spellings;
# _frombuffer is what protocol 5 uses), and _codecs.encode, which Python 3 protocol-2 pickles use to
# spell bytes. Each only builds data; none runs code the file chooses.
ALLOWED_GLOBALS = {
    ("numpy.core.multiarray", "_reconstruct"),
    ("numpy._core.multiarray", "_reconstruct"),
    ("numpy.core.numeric", "_frombuffer"),
    ("numpy._core.numeric", "_frombuffer"),
    ("numpy", "ndarray"),
    ("numpy", "dtype"),
    ("_codecs", "encode"),
}


class CifarUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> Any:
        if (module, name) in ALLOWED_GLOBALS:
            return super().find_class(module, name)
        raise pickle.UnpicklingError(f"refusing to load {module}.{name}: a CIFAR-10 batch holds only arrays, lists and bytes")


def load_batch(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """(images uint8 N×3×32×32, labels int64 N) from one pickled batch, through CifarUnpickler."""
    try:
        with path.open("rb") as handle:
            batch = CifarUnpickler(handle, encoding="bytes").load()  # the files are Python 2 pickles
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError) as exc:
        raise UserError(f"{path}: not a CIFAR-10 python batch ({exc}); {WHERE_TO_GET}") from None
    if not isinstance(batch, dict) or b"data" not in batch or b"labels" not in batch:
        raise UserError(f"{path}: expected a dict with b'data' and b'labels'; {WHERE_TO_GET}")
    data = np.asarray(batch[b"data"], dtype=np.uint8)
    labels = np.asarray(batch[b"labels"], dtype=np.int64)
    if data.ndim != 2 or data.shape[1] != 3 * 32 * 32 or len(labels) != len(data):
        raise UserError(f"{path}: b'data' has shape {data.shape} with {len(labels)} labels; expected N×3072 and N labels")
    return data.reshape(-1, 3, 32, 32), labels


def resolve_root(root: str | Path | None, download: bool) -> Path:
    """The folder holding the batches: `root` itself or root/cifar-10-batches-py; downloads if asked."""
    if root is None:
        raise UserError(f"data.root is not set; {WHERE_TO_GET}")
    root = Path(root).expanduser()
    for folder in (root, root / FOLDER):
        if all((folder / name).is_file() for name in [*TRAIN_FILES, TEST_FILE]):
            return folder
    if download:
        download_cifar10(root)
        return root / FOLDER
    missing = [n for n in [*TRAIN_FILES, TEST_FILE] if not (root / n).is_file() and not (root / FOLDER / n).is_file()]
    raise UserError(f"data.root={root}: no CIFAR-10 batches there (missing {', '.join(missing)}); {WHERE_TO_GET}")


def load_cifar10(root: str | Path | None, download: bool = False) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(x_train 50000×3×32×32 uint8, y_train, x_test 10000×3×32×32 uint8, y_test)."""
    folder = resolve_root(root, download)
    train = [load_batch(folder / name) for name in TRAIN_FILES]
    x_test, y_test = load_batch(folder / TEST_FILE)
    return np.concatenate([x for x, _ in train]), np.concatenate([y for _, y in train]), x_test, y_test


def download_cifar10(root: Path, url: str = URL, md5: str = MD5) -> None:
    """Fetch the archive, check its MD5, and extract cifar-10-batches-py/ into root atomically."""
    root.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=root) as scratch:
        archive = Path(scratch) / "cifar-10-python.tar.gz"
        try:
            with urllib.request.urlopen(url, timeout=60) as response, archive.open("wb") as out:
                shutil.copyfileobj(response, out)
        except OSError as exc:
            raise UserError(f"could not download {url} ({exc}); {WHERE_TO_GET}") from None
        digest = hashlib.md5(archive.read_bytes()).hexdigest()
        if digest != md5:
            raise UserError(f"{url}: MD5 {digest} is not the published {md5}; the download is corrupt, try again")
        with tarfile.open(archive) as tar:
            tar.extractall(scratch, filter="data")  # "data": no absolute paths, links or devices
        target = root / FOLDER
        if target.exists():
            shutil.rmtree(target)
        (Path(scratch) / FOLDER).rename(target)
