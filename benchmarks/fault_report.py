"""Run the fault suite (tests/faults, slow tests included) and print what it did and found.

    .venv/bin/python benchmarks/fault_report.py            # everything, fuzzing 3x the fast tier (~30 min on 2 busy cores)
    .venv/bin/python benchmarks/fault_report.py --fast     # the fast-tier subset only
    .venv/bin/python benchmarks/fault_report.py -- -k kill # a selection (pytest's arguments after --)

Every figure comes from the tests themselves: each records what it injected, tried and found
(tests/faults/faultkit.py `tally`) into a JSON-lines file this script hands them and then adds up.
Crashes are tracebacks or exceptions other than a one-line UserError; partial files are files
under a final name that do not read back whole; leaks are planted secrets found in any file or
command output; HTML injections are hostile strings planted in a report's inputs, escaped when
the page builds no element or handler from them; fooled counts gates shown passed that their own
run did not pass and resumes that went ahead on another run's checkpoint or an edited config.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
LABELS = {
    "faults_injected": "faults injected",
    "runs_resumed_exactly": "runs resumed exactly (bit for bit)",
    "bad_inputs_tried": "bad inputs tried",
    "crashes": "crashes",
    "partial_files": "partial files found",
    "secrets_leaked": "secrets leaked",
    "html_injections_tried": "HTML injections tried",
    "html_injections_escaped": "HTML injections escaped",
    "resumes_refused": "resumes refused (not the run's own)",
    "fooled": "gates or resumes fooled",
}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fast", action="store_true", help="only the fast-tier subset")
    parser.add_argument("--scale", type=float, default=3.0, help="hypothesis examples per fuzz test, times the fast tier's")
    parser.add_argument("pytest_args", nargs="*", help="extra pytest arguments after --, e.g. -- -k disk")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        tally_file = Path(tmp) / "tally.jsonl"
        tally_file.touch()
        marker = [] if args.fast else ["-m", "not gpu and not network"]
        cmd = [sys.executable, "-m", "pytest", "tests/faults", "-q", "-p", "no:cacheprovider", *marker, *args.pytest_args]
        started = time.perf_counter()
        env = {**os.environ, "WORKBENCH_FAULT_TALLY": str(tally_file), "WORKBENCH_FUZZ_SCALE": str(1 if args.fast else args.scale)}
        proc = subprocess.run(cmd, cwd=REPO, env=env,
                              capture_output=True, text=True)
        seconds = time.perf_counter() - started
        records = [json.loads(line) for line in tally_file.read_text().splitlines() if line.strip()]
    totals = Counter()
    for record in records:
        totals[record["kind"]] += int(record["n"])
    outcome = next((line for line in reversed(proc.stdout.splitlines()) if " in " in line and ("passed" in line or "failed" in line)), "")
    print(f"fault suite: pytest {' '.join(cmd[3:])} (fuzz scale {env['WORKBENCH_FUZZ_SCALE']})")
    print(f"pytest: {outcome.strip('= ')} ({seconds:.0f} s wall)")
    for kind, label in LABELS.items():
        print(f"  {label:<36} {totals[kind]:>6}")
    for kind in ("crashes", "partial_files", "secrets_leaked", "fooled"):
        for record in records:
            if record["kind"] == kind:
                detail = {k: v for k, v in record.items() if k not in ("kind", "n")}
                print(f"  ! {kind}: {json.dumps(detail)[:400]}")
    if proc.returncode != 0:
        print(proc.stdout[-4000:])
    return proc.returncode


if __name__ == "__main__":
    sys.exit(main())
