"""`workbench fetch --from` on a disk that fills up, and stopped with Ctrl-C at random moments:
a clear error, no paper folder that looks complete but is not, and the next fetch works."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import time

import pytest
import yaml

from faultkit import crash_check, finish, partial_files, start, tally, workbench
from fake_arxiv import source_tarball

HNN = "1906.01563"
OFFLINE = {"WORKBENCH_ARXIV_URL": "http://127.0.0.1:9"}


def paper_is_whole_or_absent(papers) -> None:
    for folder in papers.iterdir():
        if not folder.is_dir() or folder.name.startswith((".", "_")) or folder.name == "mnist1d":
            continue
        meta = yaml.safe_load((folder / "paper.yaml").read_text())  # a folder under its final name is complete
        assert meta["arxiv_id"] == HNN
        for name in ("CHECKLIST.md", "claims.yaml", "conf/config.yaml", "experiment.py"):
            assert (folder / name).is_file(), f"{folder.name}/{name} missing"


@pytest.mark.slow
@pytest.mark.parametrize("free", [3_000, 30_000, 150_000])
def test_disk_full_during_fetch_is_one_line_and_a_retry_works(project, tmp_path, free):
    papers = project / "papers"
    archive = tmp_path / "src.tar.gz"
    archive.write_bytes(source_tarball())
    env = {**OFFLINE, "WORKBENCH_CACHE": str(papers / ".cache")}
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(papers)], capture_output=True, text=True)
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs here ({mounted.stderr.strip()}); needs root")
    try:
        stat = os.statvfs(papers)
        (papers / ".filler").write_bytes(b"\0" * max(0, stat.f_bavail * stat.f_frsize - free))
        proc = workbench(project, "fetch", "--from", str(archive), "--id", HNN, env=env)
        tally("faults_injected", what=f"disk full during fetch ({free} bytes free)")
        assert not crash_check(proc.stderr, f"fetch on a full disk ({free} B)"), proc.stderr
        if proc.returncode != 0:
            last = [line for line in proc.stderr.splitlines() if line.strip()][-1]
            assert last.startswith("error:") and "space" in proc.stderr, proc.stderr
        paper_is_whole_or_absent(papers)
        assert not partial_files(papers)
        (papers / ".filler").unlink()
        again = workbench(project, "fetch", "--from", str(archive), "--id", HNN, env=env)
        assert again.returncode == 0, again.stderr
        paper_is_whole_or_absent(papers)
    finally:
        subprocess.run(["umount", "-l", str(papers)], check=False)


@pytest.mark.slow
@pytest.mark.parametrize("seed", range(3))
def test_ctrl_c_during_fetch_leaves_nothing_half_made(project, tmp_path, seed):
    archive = tmp_path / "src.tar.gz"
    archive.write_bytes(source_tarball())
    env = {**OFFLINE, "WORKBENCH_CACHE": str(tmp_path / "cache")}
    delay = random.Random(seed).uniform(0.3, 3.0)
    proc = start(project, "fetch", "--from", str(archive), "--id", HNN, env=env)
    time.sleep(delay)
    proc.send_signal(signal.SIGINT)
    code, err = finish(proc)
    tally("faults_injected", what=f"SIGINT after {delay:.1f} s of fetch")
    assert not crash_check(err, f"SIGINT during fetch at {delay:.1f} s"), err
    paper_is_whole_or_absent(project / "papers")
    leftovers = [p for p in (project / "papers").rglob("*.tmp")]
    assert leftovers == [], leftovers
    again = workbench(project, "fetch", "--from", str(archive), "--id", HNN, env=env)
    assert again.returncode == 0, again.stderr
    paper_is_whole_or_absent(project / "papers")
