"""A run's progress on stderr: a bar on a terminal, status lines everywhere else.

`trainer.progress=true` draws rich's bar when stderr is a terminal. Where it is not (a log file,
CI, `nohup`), a bar would only appear when the run ends, so the run prints a status line at every
tenth of its steps instead: the step, the time a step takes, the time left and the latest metrics.
`trainer.progress=lines` asks for those lines on a terminal too; jobs that train side by side
(hydra/launcher=joblib) use them, since several bars on one terminal garble each other.
`trainer.progress=false` prints nothing.
"""

from __future__ import annotations

import time
from typing import Any

from rich.markup import escape
from rich.progress import (BarColumn, MofNCompleteColumn, Progress, ProgressColumn, Task, TextColumn,
                           TimeElapsedColumn, TimeRemainingColumn)
from rich.text import Text

from workbench.console import stderr

LINES = "lines"  # trainer.progress=lines
BAR_REDRAWS, STATUS_LINES = 200, 10  # a run's bar redraws and status lines, about


class StepsPerSecond(ProgressColumn):
    """Training speed as `12.3 it/s` (rich's estimate over the last 30 s), as Lightning's bar shows it."""

    def render(self, task: Task) -> Text:
        return Text(f"{task.speed:.3g} it/s" if task.speed else "- it/s", style="progress.data.speed")


def progress_mode(setting: bool | str) -> str | None:
    """trainer.progress -> "bar", "lines" or None (nothing shown)."""
    if setting is False:
        return None
    return "bar" if setting is True and stderr.is_terminal else LINES


class ProgressBar:
    """The run's progress, a context manager: `with ProgressBar(...) as bar: ... bar.update(step, state)`.

    `mode`: progress_mode's answer, or None when the run prints no progress (a quiet logger);
    `label` names the run in its status lines (run_identity of its overrides)."""

    def __init__(self, max_steps: int, mode: str | None, start_step: int = 0, label: str = "") -> None:
        self.max_steps, self.mode, self.start_step, self.label = max_steps, mode, start_step, label
        self.every = max(1, max_steps // (BAR_REDRAWS if mode == "bar" else STATUS_LINES))
        self.bar = Progress(
            TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
            TextColumn("{task.fields[info]}"), StepsPerSecond(),
            TimeElapsedColumn(), TimeRemainingColumn(), console=stderr, transient=False,
        ) if mode == "bar" else None

    def __enter__(self) -> ProgressBar:
        self.started = time.perf_counter()
        if self.bar is not None:
            self.bar.start()
            self.task = self.bar.add_task("train", total=self.max_steps, completed=self.start_step, info="")
        return self

    def __exit__(self, *exc: Any) -> None:
        if self.bar is not None:
            self.bar.stop()

    def update(self, step: int, state: Any) -> None:
        """After step `step` (counting from 1); `state` is the run's TrainState."""
        if self.bar is not None and (step % self.every == 0 or step == self.max_steps):
            self.bar.update(self.task, completed=step, info=progress_info(state))
        elif self.mode == LINES and step % self.every == 0 and step < self.max_steps:
            # no line at the last step: the run's own "completed" line follows
            print_status_line(self.label, step, self.max_steps, step - self.start_step,
                              time.perf_counter() - self.started, progress_info(state))


def print_status_line(label: str, step: int, max_steps: int, steps_taken: int, seconds: float, info: str) -> None:
    """`  <label>: step 600/6000 (10%) · 17.2 ms a step · 10 s, about 93 s left · loss 0.31 · test/acc 85.2`"""
    per_step = seconds / steps_taken if steps_taken > 0 else 0.0
    parts = [f"step {step}/{max_steps} ({100 * step // max_steps}%)", f"{1e3 * per_step:.3g} ms a step",
             f"{seconds:.0f} s, about {per_step * (max_steps - step):.0f} s left", *([info] if info else [])]
    stderr.print(f"  {escape(label) + ': ' if label else ''}{' · '.join(parts)}", highlight=False)


def progress_info(state: Any) -> str:
    """The latest train loss and first two evaluation metrics of a TrainState."""
    parts = [f"loss {state.last_train['loss']:.3g}"] if "loss" in state.last_train else []
    parts += [f"{k} {v:.3g}" for k, v in list(state.last_eval.items())[:2]]
    return " · ".join(parts)
