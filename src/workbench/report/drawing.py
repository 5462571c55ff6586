"""Drawing the report's figures: matplotlib without pyplot, stable bytes, and all the cores.

Each section of the report decides which figures it shows (cheap: it reads the runs) and hands
each figure to Drawings as a name and a function that builds it. Laying a figure out, rasterising
it at 200 dpi and writing its SVG is most of a report's time (about 0.3 s a confusion matrix), and
figures do not depend on one another, so Drawings.draw_all builds and saves them in forked worker
processes, one per core, on Linux. A worker returns bytes only; the same figure gives the same
bytes in a worker and in the report's own process (tests/test_report_figures.py checks it).
"""

from __future__ import annotations

import io
import multiprocessing
import os
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

DPI = 200
MIN_PARALLEL = 4  # fewer figures draw faster in this process than a pool starts


def new_figure(width: float, height: float) -> tuple[Any, Any]:
    """An Agg figure and its one axes, without pyplot: no global backend switch, safe in a CLI and in threads."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), dpi=100)
    FigureCanvasAgg(fig)
    return fig, fig.add_subplot(1, 1, 1)


def store(files: dict[str, bytes], png_name: str, fig: Any, tight: bool = True) -> None:
    """The figure as figures/<name>.png (200 dpi) and figures/<name>.svg, the same bytes for the same figure."""
    import matplotlib

    if tight:
        fig.tight_layout()
    # no version stamp and fixed SVG ids: stable bytes; light PNG compression: encoding is most of a report's time
    with matplotlib.rc_context({"svg.hashsalt": "workbench", "svg.fonttype": "none"}):
        files[png_name] = _saved(fig, "png", metadata={"Software": None}, dpi=DPI, pil_kwargs={"compress_level": 1})
        files[png_name.removesuffix(".png") + ".svg"] = _saved(fig, "svg", metadata={"Date": None, "Creator": None})


def _saved(fig: Any, kind: str, **options: Any) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format=kind, **options)
    return buf.getvalue()


@dataclass
class Pending:
    """A figure to draw: its PNG name in figures/ and the function that builds it."""

    png: str
    build: Callable[[], Any]
    tight: bool = True
    large: bool = False

    def drawn(self) -> dict[str, bytes]:
        files: dict[str, bytes] = {}
        store(files, self.png, self.build(), self.tight)
        return files


@dataclass
class Drawings:
    """The figures a report will show, drawn together by draw_all."""

    pending: list[Pending] = field(default_factory=list)

    def add(self, png_name: str, build: Callable[[], Any], tight: bool = True, large: bool = False) -> None:
        """Draw `build()` as figures/<png_name> (and its SVG). `build` may run in a forked worker:
        it reads what the report has loaded and changes nothing the report reads afterwards.
        `large`: a figure over many runs (learning curves, paper vs ours, sweeps), slower to draw than a
        configuration's own figure; draw_all hands these out first."""
        self.pending.append(Pending(png_name, build, tight, large))

    def draw_all(self, workers: int | None = None) -> dict[str, bytes]:
        """name -> bytes of every figure: in forked workers where there are cores and figures enough."""
        workers = min(len(self.pending), workers or usable_cores())
        if workers < 2 or len(self.pending) < MIN_PARALLEL or not can_fork():
            return merged(p.drawn() for p in self.pending)
        # Longest first, so that the workers finish together: a large figure handed out last keeps
        # one worker drawing alone (100 runs: 1.43 -> 1.3 s, benchmarks/report_speed.py).
        order = sorted(range(len(self.pending)), key=lambda i: not self.pending[i].large)
        global _drawing
        _drawing = self
        try:
            with multiprocessing.get_context("fork").Pool(workers) as pool:
                return merged(pool.imap_unordered(_draw_one, order))
        finally:
            _drawing = None


_drawing: Drawings | None = None  # the Drawings a forked worker draws from (inherited, never pickled)


def _draw_one(index: int) -> dict[str, bytes]:
    assert _drawing is not None
    return _drawing.pending[index].drawn()


def merged(parts: Iterable[dict[str, bytes]]) -> dict[str, bytes]:
    files: dict[str, bytes] = {}
    for part in parts:
        files.update(part)
    return files


def usable_cores() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


def can_fork() -> bool:
    """Linux only: macOS's system libraries are not safe to use in a forked child, and Windows cannot fork."""
    return sys.platform.startswith("linux") and "fork" in multiprocessing.get_all_start_methods()
