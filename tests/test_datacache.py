"""workbench.cached_arrays: a generated data set is built once per machine and read back equal."""

from __future__ import annotations

import numpy as np

from workbench import cached_arrays


def counting_build(calls: list[int]):
    def build():
        calls.append(1)
        return {"x": np.arange(6, dtype=np.float32).reshape(2, 3), "y": np.array([1, 0])}
    return build


def test_the_second_call_reads_what_the_first_built(tmp_path, monkeypatch):
    monkeypatch.setenv("WORKBENCH_CACHE", str(tmp_path))
    calls: list[int] = []
    first = cached_arrays("toy", {"seed": 1}, counting_build(calls))
    second = cached_arrays("toy", {"seed": 1}, counting_build(calls))
    assert calls == [1]
    assert all(np.array_equal(first[k], second[k]) and first[k].dtype == second[k].dtype for k in first)
    cached_arrays("toy", {"seed": 2}, counting_build(calls))  # another key, another data set
    assert calls == [1, 1]
    assert sorted(p.name.split("-")[0] for p in (tmp_path / "data").iterdir()) == ["toy", "toy"]


def test_an_unreadable_file_is_rebuilt_and_an_unwritable_cache_only_costs_time(tmp_path, monkeypatch):
    monkeypatch.setenv("WORKBENCH_CACHE", str(tmp_path))
    calls: list[int] = []
    cached_arrays("toy", {"seed": 1}, counting_build(calls))
    (stored,) = (tmp_path / "data").iterdir()
    stored.write_bytes(b"half a file")
    assert cached_arrays("toy", {"seed": 1}, counting_build(calls))["y"].tolist() == [1, 0]
    assert calls == [1, 1]
    blocked = tmp_path / "blocked"
    blocked.write_text("a file where the cache folder would be")
    monkeypatch.setenv("WORKBENCH_CACHE", str(blocked))
    assert cached_arrays("toy", {"seed": 1}, counting_build(calls))["x"].shape == (2, 3)
