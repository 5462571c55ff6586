"""Report speed: `write_report` over 100 synthetic runs of 6000 steps each, figures included.

The runs are written in the real run-folder format (config.yaml with choices, overrides.yaml,
summary.json, metrics.jsonl logged every 50 steps and evaluated every 250 as the trainer does,
provenance.json, analysis.json with a 10-class confusion matrix): 5 models × 2 data variants ×
10 seeds, one claim per configuration. Target: < 1.5 s. It also prints what `workbench report`
pays before it reads a run: importing the report in a fresh process (best of 3), and whether that
pulls in torch or scipy.stats (it should not).

Each report runs in a fresh process. `--code DIR [DIR ...]` times other checkouts' src/ too (an
older commit exported with `git archive`), on the same runs, taking turns for `--repeats` rounds,
so that "before" and "after" are measured side by side under the same load; each checkout's
median is printed last.
Usage: python benchmarks/report_speed.py [--repeats 1] [--code DIR ...]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]

MODELS = ["logistic", "mlp", "cnn", "gru", "transformer"]
DATAS = ["standard", "shuffled"]
SEEDS = range(10)
STEPS, LOG_EVERY, EVAL_EVERY = 6000, 50, 250
TARGET_S = 1.5
PAPER, REPRO = Path("papers") / "synthetic", Path("reproductions") / "synthetic"  # under the project folder


def write_paper(root: Path) -> Path:
    paper_dir = root / PAPER
    paper_dir.mkdir(parents=True)
    (paper_dir / "paper.yaml").write_text(yaml.safe_dump({
        "name": "synthetic", "arxiv_id": "0000.00000", "version": "v1", "title": "A synthetic paper",
        "authors": ["A. Author"], "year": 2026, "abs_url": "https://arxiv.org/abs/0000.00000v1"}))
    claims = [{
        "id": f"table1.{model}.{data}.test_acc", "quote": f"{model} {data} 80 ± 2",
        "source": {"arxiv": "0000.00000v1", "table": 1, "row": data, "column": model},
        "metric": "test/acc", "value": 80.0, "std": 2.0, "n_seeds": 10, "unit": "%", "goal": "max",
        "select": {"model": model, "data": data}, "tolerance": {"kind": "paper_std", "k": 2}, "status": "confirmed",
    } for model in MODELS for data in DATAS]
    (paper_dir / "claims.yaml").write_text(yaml.safe_dump({"claims": claims}, sort_keys=False))
    return paper_dir


def write_run(runs_dir: Path, number: int, model: str, data: str, seed: int, rng: random.Random) -> None:
    run = runs_dir / "reproduction" / f"20261123-{100000 + number:06d}-{number:06x}"
    run.mkdir(parents=True)
    choices = {"stage": "reproduction", "model": model, "data": data, "trainer": "default", "logger": "local",
               "paths": "default"}
    config = {"trainer": {"max_steps": STEPS, "eval_every": EVAL_EVERY, "log_every": LOG_EVERY}, "seed": seed,
              "optim": {"name": "adam", "lr": 0.01}, "model": {"name": model}, "data": {"name": data},
              "choices": choices}
    (run / "config.yaml").write_text(yaml.safe_dump(config))
    (run / "overrides.yaml").write_text(yaml.safe_dump([f"model={model}", f"data={data}", f"seed={seed}"]))
    final = 80.0 + rng.gauss(0, 1.5)
    lines = []
    for step in range(LOG_EVERY, STEPS + 1, LOG_EVERY):
        progress = step / STEPS
        lines.append({"step": step, "split": "train", "loss": 2.3 * (1 - progress) + 0.1, "acc": final * progress})
        if step % EVAL_EVERY == 0:
            lines.append({"step": step, "split": "test", "loss": 2.0 * (1 - progress) + 0.3,
                          "acc": final * progress ** 0.5 + rng.gauss(0, 0.5)})
    (run / "metrics.jsonl").write_text("".join(json.dumps(x) + "\n" for x in lines))
    summary = {"status": "completed", "paper": "synthetic", "stage": "reproduction", "seed": seed, "choices": choices,
               "step": STEPS, "metrics": {"test/acc": final, "test/loss": 0.3, "train/loss": 0.1},
               "wall_time_s": 20.0 + rng.random(), "steps_per_s": 300.0, "params": 5210, "peak_memory_mb": 440.0}
    (run / "summary.json").write_text(json.dumps(summary))
    (run / "provenance.json").write_text(json.dumps({"git": {"sha": "abc1234", "dirty": False},
                                                     "packages": {"torch": "2.13.0"}, "python": "3.11.7",
                                                     "device": "cpu"}))
    matrix = [[rng.randint(0, 5) + (80 if i == j else 0) for j in range(10)] for i in range(10)]
    (run / "analysis.json").write_text(json.dumps({"split": "test", "class_names": [str(i) for i in range(10)],
                                                   "confusion_matrix": matrix}))


def write_runs(root: Path) -> None:
    """The synthetic paper and its 100 runs, a project under `root`."""
    rng = random.Random(0)
    write_paper(root)
    repro = root / REPRO
    number = 0
    for model in MODELS:
        for data in DATAS:
            for seed in SEEDS:
                write_run(repro / "runs", number, model, data, seed, rng)
                number += 1


def timed_report(paper_dir: Path, repro: Path) -> dict[str, float]:
    """One write_report, in this process, with the workbench on sys.path (--inner)."""
    import matplotlib.figure  # noqa: F401  (import cost is not the report's)
    from workbench.report.drawing import usable_cores
    from workbench.report.write import write_report

    started, cpu_started, children_started = time.perf_counter(), time.process_time(), children_cpu()
    comparison = write_report(paper_dir, repro)
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu_started
    rows = sum(1 for run in (repro / "runs" / "reproduction").iterdir() for _ in (run / "metrics.jsonl").open())
    return {"wall": seconds, "cpu": cpu, "workers_cpu": children_cpu() - children_started,
            "claims": len(comparison["claims"]), "figures": len(list((repro / "figures").glob("*.png"))), "rows": rows,
            "workers": usable_cores()}


def report_in(code: Path, runs: Path, scratch: Path) -> dict[str, float]:
    """timed_report in a fresh process running `code`'s src/, over a fresh copy of `runs` (so
    that every report writes its evidence and figures from scratch)."""
    shutil.rmtree(scratch, ignore_errors=True)
    shutil.copytree(runs, scratch)
    done = subprocess.run([sys.executable, __file__, "--inner", str(code / "src"), str(scratch / PAPER), str(scratch / REPRO)],
                          capture_output=True, text=True, check=True)
    return json.loads(done.stdout.splitlines()[-1])


def main() -> None:
    if sys.argv[1:2] == ["--inner"]:
        sys.path.insert(0, sys.argv[2])
        return print(json.dumps(timed_report(Path(sys.argv[3]), Path(sys.argv[4]))))
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=1, help="rounds over the checkouts")
    parser.add_argument("--code", nargs="*", type=Path, default=[], help="other checkouts to compare, side by side")
    args = parser.parse_args()
    codes = [ROOT, *args.code]
    walls: dict[Path, list[float]] = {code: [] for code in codes}
    workers = 0
    with tempfile.TemporaryDirectory() as tmp:
        runs = Path(tmp) / "runs"
        write_runs(runs)
        for _ in range(args.repeats):
            for code in codes:  # taking turns: every checkout under about the same load
                t = report_in(code, runs, Path(tmp) / "report")
                walls[code].append(t["wall"])
                workers = t["workers"]
                print(f"{str(code)[-24:]:24} report over {len(MODELS) * len(DATAS) * len(SEEDS)} runs "
                      f"× {STEPS} steps ({t['rows']} metrics.jsonl rows, {t['claims']} claims, {t['figures']} figures): "
                      f"{t['wall']:.2f} s wall, {t['cpu']:.2f} s CPU here + {t['workers_cpu']:.2f} s in the figure "
                      f"workers ({load()})", flush=True)
    for code, seconds in walls.items():
        median = statistics.median(seconds)
        print(f"{str(code)[-24:]:24} median {median:.2f} s wall over {len(seconds)} round(s) "
              f"(target < {TARGET_S:g} s) {'OK' if median < TARGET_S else 'SLOW'}")
    print(f"wall time counts other processes on a busy machine; the figures are drawn in {workers} worker "
          f"process(es), one per core")
    print(report_import())


IMPORT_PROBE = ("import sys, time; t = time.perf_counter(); import workbench.report.write; "
                "print(time.perf_counter() - t, 'torch' in sys.modules, 'scipy.stats' in sys.modules)")


def report_import() -> str:
    """The report's import in a fresh process, as `workbench report` pays it: best of 3."""
    runs = []
    for _ in range(3):
        out = subprocess.run([sys.executable, "-c", IMPORT_PROBE], capture_output=True, text=True, check=True,
                             env={**os.environ, "PYTHONPATH": str(ROOT / "src")}).stdout.split()
        runs.append((float(out[0]), out[1], out[2]))
    seconds, torch_loaded, stats_loaded = min(runs)
    return f"importing the report: {seconds:.2f} s (best of 3, fresh process); torch imported: {torch_loaded}, " \
           f"scipy.stats imported: {stats_loaded}"


def load() -> str:
    return "load " + " ".join(f"{x:.2f}" for x in os.getloadavg())


def children_cpu() -> float:
    times = os.times()
    return times.children_user + times.children_system


if __name__ == "__main__":
    main()
