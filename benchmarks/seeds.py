"""Five seeds for the price of how many? MNIST-1D (stage=reproduction), one seed alone against five
seeds vectorised in one process (seeds=5 trainer.vectorize_seeds=true), and optionally against
five seeds run one after another. Target: 5 vectorised seeds cost <= 1.5x one seed.

Each configuration is a real `workbench run` in a throwaway project (papers/ copied), one torch
thread. Two figures per configuration: the runs' own training wall time (summary.json
wall_time_s: the loop, evaluations and checkpoints, not start-up or building the data set), and
the CPU seconds the command used minus those of the same command with trainer.max_steps=1
(start-up, building, one evaluation): on a machine shared with other work, CPU time is the
steadier figure, and the load average is printed beside each row.

`--code DIR [DIR ...]` runs the same measurements against other checkouts (their src/ and papers/,
e.g. an older commit exported with `git archive`), interleaved model by model, so that "before"
and "after" are measured side by side under the same load.
`--per-step` measures only the training step (forward, backward, optimizer; no start-up,
evaluation or files) in one process per checkout: a quick figure, split into its parts. With
`--ops`, it also says where the n-seed step's time goes, under torch.profiler: how much is matrix
products (the arithmetic) and how much the many small ops around them (the profiler adds a
microsecond or two to each op, so small ops read high: compare kinds, not totals with the timings).
Usage: python benchmarks/seeds.py [--steps 2000] [--models mlp,cnn,gru] [--sequential] [--per-step [--ops]] [--code DIR ...]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


class Project:
    """A throwaway project with one checkout's papers/, run with that checkout's src/."""

    def __init__(self, code: Path, folder: Path) -> None:
        self.code, self.folder = code, folder
        shutil.copytree(code / "papers", folder / "papers", ignore=shutil.ignore_patterns("__pycache__", "paper"))

    def train(self, *overrides: str) -> tuple[list[dict], float]:
        """The run's summaries, and the CPU seconds of its training (the command minus a 1-step one)."""
        before = cpu_seconds()
        summaries = self.run(*overrides)
        full = cpu_seconds() - before
        self.run(*overrides, "trainer.max_steps=1")
        return summaries, full - (cpu_seconds() - before - full)

    def run(self, *overrides: str) -> list[dict]:
        """One `workbench run`; the summaries of the run folders it made."""
        runs = self.folder / "reproductions" / "mnist1d" / "runs" / "reproduction"
        before = set(runs.glob("*")) if runs.exists() else set()
        command = [sys.executable, "-m", "workbench", "run", "mnist1d", "stage=reproduction", "logger=none",
                   "trainer.threads=1", *overrides]
        env = {**os.environ, "WORKBENCH_ROOT": str(self.folder), "PYTHONPATH": str(self.code / "src")}
        subprocess.run(command, cwd=self.folder, env=env, check=True, stdout=subprocess.DEVNULL,
                       stderr=subprocess.PIPE, text=True)
        return [json.loads((d / "summary.json").read_text()) for d in sorted(set(runs.glob("*")) - before)]


def load() -> str:
    return "load " + " ".join(f"{x:.2f}" for x in os.getloadavg())


def measure(project: Project, model: str, steps: int, n: int, sequential: bool) -> dict[str, tuple[float, float]]:
    """{"1": (wall, cpu), "vec": ..., "seq": ...} for one model."""
    common = [f"model={model}", f"trainer.max_steps={steps}"]
    (one,), one_cpu = project.train(*common, "seed=0")
    vectorised, vec_cpu = project.train(*common, f"seeds={n}", "trainer.vectorize_seeds=true")
    assert all("vectorized_with_seeds" in s for s in vectorised), f"{model}: vectorisation fell back"
    figures = {"1": (one["wall_time_s"], one_cpu), "vec": (vectorised[0]["wall_time_s"], vec_cpu)}
    if sequential:
        runs, seq_cpu = project.train(*common, f"seeds={n}")
        figures["seq"] = (sum(s["wall_time_s"] for s in runs), seq_cpu)
    return figures


def step_costs(code: Path, model: str, steps: int, n: int, ops: bool = False) -> dict[str, Any]:
    """CPU milliseconds a step, by part, for one seed alone and n seeds vectorised, in a fresh
    process importing `code`'s src/ and papers/."""
    env = {**os.environ, "PYTHONPATH": f"{code / 'src'}{os.pathsep}{code}"}
    done = subprocess.run([sys.executable, __file__, "--inner", model, str(steps), str(n), *(["--ops"] if ops else [])],
                          env=env, check=True,
                          capture_output=True, text=True, cwd=code)
    return json.loads(done.stdout.splitlines()[-1])


def inner(model: str, steps: int, n: int, ops: bool) -> None:
    """The measurement step_costs runs, in the checkout's own code (same calls before and after)."""
    import time

    import torch
    from omegaconf import OmegaConf
    from papers.mnist1d.experiment import build
    from torch.func import stack_module_state
    from workbench.run.seeding import seed_everything
    from workbench.run.trainer import TrainerConfig, configure_torch
    from workbench.run.vectorized import SeedStep, stack_batches, stacked_optimizer

    configure_torch(TrainerConfig(threads=1))  # one thread, determinism and memory settings as the trainer
    cfg = OmegaConf.load(Path("papers/mnist1d/conf/config.yaml"))
    cfg.model = OmegaConf.load(Path(f"papers/mnist1d/conf/model/{model}.yaml"))
    cfg.data = OmegaConf.load(Path("papers/mnist1d/conf/data/standard.yaml"))
    cfg.seed = 0

    def vectorised(seeds: int) -> tuple[Any, ...]:
        experiments = []
        for seed in range(seeds):
            seed_everything(seed)
            experiments.append(build(cfg))
        params, buffers = stack_module_state([e.model for e in experiments])
        optimizer, _ = stacked_optimizer(experiments[0], params)
        step_fn = SeedStep(experiments[0], TrainerConfig())
        return step_fn, params, buffers, optimizer, [e.train_batches() for e in experiments]

    def run(seeds: int) -> dict[str, float]:
        step_fn, params, buffers, optimizer, batches = vectorised(seeds)
        parts = dict.fromkeys(("forward", "backward", "optimizer"), 0.0)
        for _ in range(steps):
            batch, dims = stack_batches([next(b) for b in batches])
            start = time.process_time()
            out = step_fn(params, buffers, batch, dims)
            forward = time.process_time()
            optimizer.zero_grad(set_to_none=True)
            out["loss"].sum().backward()
            backward = time.process_time()
            optimizer.step()
            out["loss"].tolist()
            parts["forward"] += forward - start
            parts["backward"] += backward - forward
            parts["optimizer"] += time.process_time() - backward
        return {k: 1e3 * v / steps for k, v in parts.items()}

    def plain() -> dict[str, float]:
        seed_everything(0)
        exp = build(cfg)
        optimizer, _ = exp.optimizers()
        batches = exp.train_batches()
        start = time.process_time()
        for _ in range(steps):
            out = exp.train_step(next(batches))
            optimizer.zero_grad(set_to_none=True)
            out["loss"].backward()
            optimizer.step()
            out["loss"].item()
        return {"step": 1e3 * (time.process_time() - start) / steps}

    def op_costs(seeds: int, steps: int = 100) -> dict[str, Any]:
        """Self CPU ms a step by op kind under torch.profiler (which adds a little to each op)."""
        from torch.profiler import profile

        step_fn, params, buffers, optimizer, batches = vectorised(seeds)

        def step() -> None:
            batch, dims = stack_batches([next(b) for b in batches])
            out = step_fn(params, buffers, batch, dims)
            optimizer.zero_grad(set_to_none=True)
            out["loss"].sum().backward()
            optimizer.step()
            out["loss"].tolist()

        for _ in range(20):
            step()
        with profile() as prof:
            for _ in range(steps):
                step()
        events = [e for e in prof.key_averages() if e.key.startswith("aten::") and e.self_cpu_time_total > 0]
        products = [e for e in events if e.key in MATRIX_PRODUCTS]
        others = sorted((e for e in events if e.key not in MATRIX_PRODUCTS), key=lambda e: -e.self_cpu_time_total)

        def ms_a_step(kinds: list[Any]) -> float:  # the profiler counts µs over all steps
            return sum(e.self_cpu_time_total for e in kinds) / 1e3 / steps

        return {"products_ms": ms_a_step(products), "products_calls": sum(e.count for e in products) / steps,
                "others_ms": ms_a_step(others), "others_calls": sum(e.count for e in others) / steps,
                "top": [(e.key.removeprefix("aten::"), e.self_cpu_time_total / 1e3 / steps, e.count / steps) for e in others[:5]]}

    plain()  # warm-up: first calls allocate and pick kernels
    costs = {"plain": plain(), "vec1": run(1), f"vec{n}": run(n)}
    if ops:
        costs["ops"] = op_costs(n)
    print(json.dumps(costs))


MATRIX_PRODUCTS = {f"aten::{name}{inplace}" for name in ("mm", "bmm", "addmm", "baddbmm", "addbmm", "addmv", "mv", "dot")
                   for inplace in ("", "_")}


def per_step(codes: list[Path], models: list[str], steps: int, n: int, repeats: int, ops: bool) -> None:
    print(f"CPU ms a step (forward + backward + optimizer), {steps} steps; one process per checkout, interleaved")
    print(f"{'code':24} {'model':8} {'plain':>7} {'vec1':>7} {f'vec{n}':>7} {f'vec{n}/plain':>10}  {f'vec{n} fwd/bwd/opt':>20}")
    for model in models:
        for code in codes * repeats:  # each checkout `repeats` times, in turn, under about the same load
            costs = step_costs(code, model, steps, n, ops)
            plain, vec1, vec = costs["plain"]["step"], sum(costs["vec1"].values()), costs[f"vec{n}"]
            parts = "/".join(f"{v:.2f}" for v in vec.values())
            print(f"{str(code)[-24:]:24} {model:8} {plain:7.2f} {vec1:7.2f} {sum(vec.values()):7.2f} "
                  f"{sum(vec.values()) / plain:10.2f}  {parts:>20}   ({load()})", flush=True)
            if ops:
                print_ops(costs["ops"], n)


def print_ops(ops: dict[str, Any], n: int) -> None:
    top = ", ".join(f"{name} {ms:.2f} ({calls:.0f}x)" for name, ms, calls in ops["top"])
    # the profiler adds a microsecond or two to every op it records, so the many small ones read high
    print(f"{'':33} vec{n} under the profiler, self ms a step: matrix products {ops['products_ms']:.2f} "
          f"({ops['products_calls']:.0f} calls), other ops {ops['others_ms']:.2f} ({ops['others_calls']:.0f} calls; {top})")


def main() -> None:
    if sys.argv[1:2] == ["--inner"]:
        return inner(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), "--ops" in sys.argv[5:])
    parser = argparse.ArgumentParser()
    parser.add_argument("--steps", type=int, default=2000)
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--models", default="mlp,cnn,gru")
    parser.add_argument("--sequential", action="store_true", help="also run the seeds one after another")
    parser.add_argument("--per-step", action="store_true", help="time only the training step, in-process")
    parser.add_argument("--repeats", type=int, default=2, help="--per-step: rounds over the checkouts")
    parser.add_argument("--ops", action="store_true", help="--per-step: also split the vectorised step by op kind")
    parser.add_argument("--code", nargs="*", type=Path, default=[], help="other checkouts to compare, side by side")
    args = parser.parse_args()
    n, codes = args.seeds, [ROOT, *args.code]
    if args.per_step:
        return per_step(codes, args.models.split(","), args.steps, n, args.repeats, args.ops)
    print(f"MNIST-1D, {args.steps} steps, {n} seeds, 1 torch thread; {os.cpu_count()} cores, {load()}")
    print(f"wall / cpu: training seconds; vec/1: {n} vectorised seeds / one seed; seq/vec: {n} one after another / vectorised")
    print(f"{'code':24} {'model':8} {'':4} {'1 seed':>8} {f'{n} vec':>8} {'vec/1':>6} {f'{n} seq':>8} {'seq/vec':>7}")
    with tempfile.TemporaryDirectory() as tmp:
        projects = [Project(code, Path(tmp) / str(i)) for i, code in enumerate(codes)]
        for model in args.models.split(","):
            for project in projects:  # interleaved: each model under about the same load for every checkout
                figures = measure(project, model, args.steps, n, args.sequential)
                for col, kind in ((0, "wall"), (1, "cpu")):
                    one, vec = figures["1"][col], figures["vec"][col]
                    seq = figures.get("seq", (float("nan"),) * 2)[col]
                    print(f"{str(project.code)[-24:]:24} {model:8} {kind:4} {one:8.2f} {vec:8.2f} {vec / one:6.2f} "
                          f"{seq:8.2f} {seq / vec:7.2f}" + (f"   ({load()})" if col else ""), flush=True)
    print(f"target: {n} vectorised seeds <= 1.5x one seed (vec/1 <= 1.5)")


if __name__ == "__main__":
    main()
