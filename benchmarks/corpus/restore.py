"""Restore the real-paper corpus sources from fetched git snapshots.

Usage (from the repository root):

    python benchmarks/corpus/restore.py            # every paper
    python benchmarks/corpus/restore.py gin_2019   # only the named papers

Each benchmarks/corpus/<slug>/source.yaml names a public GitHub repository, a commit,
the folder holding the paper (`root`) and the sha256 of every file the paper needs.
The script reads those files out of the snapshot under /work/.mirror/<owner>+<name>/
(a bare git directory brought in by the session's `fetch` tool; it never downloads
anything), writes them to .corpus/<slug>/ (git-ignored) and checks every sha256.
Set CORPUS_MIRROR to read snapshots from another folder.

It prints one line per paper and exits 1 when a snapshot is missing, a file is absent
at the recorded commit, or a checksum differs.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

import yaml

CORPUS = Path(__file__).resolve().parent
REPO_ROOT = CORPUS.parent.parent
TARGET = REPO_ROOT / ".corpus"
MIRROR = Path(os.environ.get("CORPUS_MIRROR", "/work/.mirror"))


class RestoreError(Exception):
    """A paper whose sources cannot be restored as recorded."""


def snapshot_gitdir(repo: str) -> Path:
    """The bare git directory of a fetched snapshot (some snapshots keep it in repo/.git)."""
    base = MIRROR / repo.replace("/", "+") / "repo"
    for candidate in (base / ".git", base):
        if (candidate / "objects").is_dir():
            return candidate
    raise RestoreError(f"no snapshot of {repo} under {MIRROR}: fetch github:{repo} first")


def read_blob(gitdir: Path, commit: str, path: str) -> bytes:
    result = subprocess.run(
        ["git", f"--git-dir={gitdir}", "show", f"{commit}:{path}"],
        capture_output=True,
        check=False,
    )
    if result.returncode != 0:
        raise RestoreError(f"{path} is not in commit {commit[:12]}")
    return result.stdout


def restore_paper(folder: Path) -> int:
    """Write one paper's files to .corpus/<slug>/ and return how many were restored."""
    source = yaml.safe_load((folder / "source.yaml").read_text(encoding="utf-8"))
    gitdir = snapshot_gitdir(source["repo"])
    root = source["root"] or ""
    out = TARGET / folder.name
    for rel, expected in source["files"].items():
        data = read_blob(gitdir, source["commit"], f"{root}/{rel}" if root else rel)
        actual = hashlib.sha256(data).hexdigest()
        if actual != expected:
            raise RestoreError(f"sha256 mismatch for {rel}: {actual[:12]} != {expected[:12]}")
        dest = out / rel
        dest.parent.mkdir(parents=True, exist_ok=True)
        dest.write_bytes(data)
    return len(source["files"])


def paper_folders(names: list[str]) -> list[Path]:
    folders = sorted(p for p in CORPUS.iterdir() if (p / "source.yaml").is_file())
    if names:
        folders = [p for p in folders if p.name in names]
        missing = set(names) - {p.name for p in folders}
        if missing:
            raise SystemExit(f"unknown corpus papers: {', '.join(sorted(missing))}")
    return folders


def main(argv: list[str]) -> int:
    failures = 0
    for folder in paper_folders(argv):
        try:
            count = restore_paper(folder)
        except RestoreError as err:
            failures += 1
            print(f"FAIL {folder.name}: {err}")
        else:
            print(f"ok   {folder.name}: {count} files -> .corpus/{folder.name}/")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
