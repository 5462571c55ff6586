"""The LaTeX reader on hostile sources: time and peak memory of `latex.read_source` (what
`workbench fetch` runs on an unpacked e-print) for each, in a fresh interpreter so peak memory
is its own, with the warning it leaves.

  * a gzipped .tex that inflates to 50 MiB of one-character lines (issue 16: it took 4 min 30 s
    and 5.2 GB before every stage had bounds);
  * one 50 MiB line; a tabular of 200,000 one-cell rows; 20,000 braces deep;
  * macro bombs: a macro that doubles itself, and one that copies its argument 8 times, 8 deep.

Usage: python benchmarks/latex_bounds.py
"""

from __future__ import annotations

import gzip
import json
import subprocess
import sys
import tempfile
from pathlib import Path

HEAD = "\\documentclass{article}\n\\begin{document}\n"
CASES = {
    "50 MiB of one-character lines (gzipped .tex)": lambda: HEAD + "x\n" * (25 << 20),
    "one 50 MiB line": lambda: HEAD + "x" * (50 << 20),
    "a tabular of 200,000 rows": lambda: HEAD + "\\begin{table}\\caption{x}\\begin{tabular}{l}\n" + "1.5 \\\\\n" * 200_000
    + "\\end{tabular}\\end{table}\n",
    "20,000 nested braces in a cell": lambda: HEAD + "\\begin{tabular}{ll}\n" + "{" * 20_000 + "1 & 2 \\\\\n\\end{tabular}\n",
    "a self-doubling macro": lambda: "\\documentclass{article}\n\\def\\a{\\a\\a}\n\\begin{document}\n"
    "\\begin{table}\\caption{x}\\begin{tabular}{ll}\nA & B \\\\\n\\hline\nx & \\a \\\\\n\\end{tabular}\\end{table}\n",
    "an argument copied 8 times, 8 deep": lambda: "\\documentclass{article}\n\\newcommand{\\a}[1]{#1#1#1#1#1#1#1#1}\n"
    "\\begin{document}\n\\begin{table}\\caption{x}\\begin{tabular}{ll}\nA & B \\\\\n\\hline\n"
    + "x & \\a{\\a{\\a{\\a{\\a{\\a{\\a{\\a{yyyy}}}}}}}} \\\\\n" * 20 + "\\end{tabular}\\end{table}\n",
}

CHILD = """
import json, resource, sys, time
from pathlib import Path
from workbench.fetch import eprint, latex
archive, folder = Path(sys.argv[1]), Path(sys.argv[2])
started = time.perf_counter()
eprint.unpack_source(archive, folder)
reading = latex.read_source(folder)
seconds = time.perf_counter() - started
peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({"seconds": seconds, "peak_mb": peak_mb, "warnings": reading.warnings,
                  "candidates": sum(len(t.candidates) for t in reading.tables)}))
"""


def main() -> None:
    for name, make in CASES.items():
        with tempfile.TemporaryDirectory() as tmp:
            archive = Path(tmp) / "source.tex.gz"
            with gzip.open(archive, "wb", compresslevel=9) as out:
                out.write(make().encode())
            done = subprocess.run([sys.executable, "-c", CHILD, str(archive), str(Path(tmp) / "source")],
                                  capture_output=True, text=True)
            if done.returncode != 0:
                print(f"{name}: FAILED\n{done.stderr}")
                continue
            result = json.loads(done.stdout)
            print(f"{name} ({archive.stat().st_size / 1024:,.0f} KiB gzipped): {result['seconds']:.2f} s, "
                  f"peak {result['peak_mb']:,.0f} MB, {result['candidates']} candidates, "
                  f"warnings: {result['warnings']}")


if __name__ == "__main__":
    main()
