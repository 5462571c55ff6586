"""How long `workbench --help` and friends take to answer, and what importing workbench.cli costs.

    .venv/bin/python benchmarks/cli_startup.py [--repeat 7]

Prints the median and best wall time of each command (a fresh process each time, as a shell runs
it), the import time of workbench.cli, and its ten slowest imports (`python -X importtime`).
The goal (issue 17): `workbench --help` under 0.25 s on a quiet machine; the best time is the one
to compare, the median shows how loaded the machine was.

It also prints how long a process that trained (imported torch, took an Adam step) takes to end
after its last line, as Python shuts down on its own and after workbench.__main__.exit_quickly,
which every `workbench` command calls last (interleaved, a fresh process each time).
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time

COMMANDS = (["--help"], ["--version"], ["run", "--help"], ["list"])
HEAVY = ("hydra", "torch", "matplotlib", "wandb", "mlflow", "scipy", "numpy")


def wall_times(args: list[str], repeat: int) -> list[float]:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        subprocess.run([sys.executable, "-m", "workbench", *args], capture_output=True, check=True)
        times.append(time.perf_counter() - started)
    return times


def slowest_imports(module: str, n: int = 10) -> list[tuple[int, str]]:
    """(cumulative microseconds, module) of the slowest imports, from -X importtime."""
    done = subprocess.run([sys.executable, "-X", "importtime", "-c", f"import {module}"],
                          capture_output=True, text=True, check=True)
    rows = []
    for line in done.stderr.splitlines():
        if line.startswith("import time:") and "|" in line and "cumulative" not in line:
            _, cumulative, name = (part.strip() for part in line.removeprefix("import time:").split("|"))
            rows.append((int(cumulative), name))
    return sorted(rows, reverse=True)[:n]


TRAINED = ("import time, torch; model = torch.nn.Linear(3, 3); optimizer = torch.optim.Adam(model.parameters()); "
           "model(torch.randn(2, 3)).sum().backward(); optimizer.step(); print(time.time(), flush=True)")


def exit_seconds(quickly: bool) -> float:
    """Seconds from a trained process's last line to its end."""
    code = TRAINED + ("; from workbench.__main__ import exit_quickly; exit_quickly()" if quickly else "")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return time.time() - float(done.stdout.split()[-1])


def heavy_modules_loaded() -> list[str]:
    code = f"import sys, workbench.cli; print(' '.join(m for m in {HEAVY!r} if m in sys.modules))"
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=7)
    repeat = parser.parse_args().repeat
    wall_times(["--version"], 1)  # warm the file cache before timing anything
    python = []
    for _ in range(repeat):
        started = time.perf_counter()
        subprocess.run([sys.executable, "-c", "pass"], check=True)
        python.append(time.perf_counter() - started)
    print(f"{'command':28} {'median s':>9} {'best s':>8}")
    print(f"{'python -c pass':28} {statistics.median(python):9.3f} {min(python):8.3f}")
    for args in COMMANDS:
        times = wall_times(args, repeat)
        print(f"{'workbench ' + ' '.join(args):28} {statistics.median(times):9.3f} {min(times):8.3f}")
    exits: dict[bool, list[float]] = {False: [], True: []}
    for _ in range(repeat):
        for quickly in exits:
            exits[quickly].append(exit_seconds(quickly))
    for quickly, label in ((False, "Python's own shutdown"), (True, "after exit_quickly")):
        print(f"{'exit, ' + label:28} {statistics.median(exits[quickly]):9.3f} {min(exits[quickly]):8.3f}")
    print(f"\nheavy modules loaded by `import workbench.cli`: {', '.join(heavy_modules_loaded()) or 'none'}")
    print("slowest imports of workbench.cli (cumulative ms):")
    for micros, name in slowest_imports("workbench.cli"):
        print(f"  {micros / 1000:7.1f}  {name}")


if __name__ == "__main__":
    main()
