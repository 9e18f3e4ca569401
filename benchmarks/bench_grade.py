"""How fast the classroom grader grades a class: seconds per submitted notebook, process starts, where the time goes.

A synthetic class (``tools/synthetic_class.py``: right answers, the typical
mistakes of ``tests/test_learner_mistakes.py``, hostile code) of notebooks 02
and 09 is graded with ``cflib.grade.grade``, with ``--jobs 1`` and ``--jobs 2``
in the same run. Printed as markdown for ``benchmarks/README.md``:

* wall time of the whole class, and per submitted notebook (median and 90th
  percentile of each submission's own time, and wall time / notebooks);
* process starts (one per submission, plus one per restart after a timeout or
  a process that died);
* where a submission's time goes, summed over the class: starting the process
  (Python, NumPy, cflib, confinement), its definitions (building the cases,
  the tripwires, running the notebook's definitions), the calls, and the
  verdicts in the grader.

``--quick``: 4 students, one jobs setting (the tests run it so it does not rot).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "tools"))

from measure import machine_markdown, markdown_table  # noqa: E402
import synthetic_class  # noqa: E402

from cflib.grade.batch import grade  # noqa: E402


def _quantile(values, q):
    values = sorted(values)
    return values[min(len(values) - 1, int(round(q * (len(values) - 1))))]


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--students", type=int, default=30)
    p.add_argument("--jobs", default="1,2", help="comma-separated --jobs settings to compare (default 1,2)")
    p.add_argument("--time-limit", type=float, default=5.0, help="seconds per call (default 5: the endless loops)")
    p.add_argument("--quick", action="store_true")
    args = p.parse_args(argv)
    students = 4 if args.quick else args.students
    jobs_list = [2] if args.quick else [int(j) for j in args.jobs.split(",")]

    print(machine_markdown())
    print(f"- command: `python benchmarks/bench_grade.py {' '.join(argv if argv is not None else sys.argv[1:])}`")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "class"
        written = synthetic_class.write_class(folder, ("02", "09"), students, seed=0)
        kinds = {}
        for _, _, kind in written:
            kinds[kind] = kinds.get(kind, 0) + 1
        print(f"\nclass: {len(written)} submitted notebooks of {students} students (02 and 09); "
              + ", ".join(f"{n} {k}" for k, n in sorted(kinds.items())) + f"; time limit {args.time_limit:g} s per call\n")
        rows, phase_rows = [], []
        for jobs in jobs_list:
            t0 = time.monotonic()
            summary = grade([folder], Path(tmp) / f"out{jobs}", time_limit=args.time_limit, jobs=jobs,
                            progress=False)
            wall = time.monotonic() - t0
            per = [s["seconds"] for s in summary.per_submission]
            starts = sum(s["starts"] for s in summary.per_submission)
            rows.append([f"--jobs {jobs}", f"{wall:.1f} s", f"{wall / len(per):.2f} s",
                         f"{statistics.median(per):.2f} s", f"{_quantile(per, 0.9):.2f} s", str(starts)])
            total = {}
            for s in summary.per_submission:
                for k, v in s["phases"].items():
                    total[k] = total.get(k, 0.0) + v
            whole = sum(total.values()) or 1.0
            phase_rows.append([f"--jobs {jobs}"] + [f"{total.get(k, 0):.1f} s ({100 * total.get(k, 0) / whole:.0f} %)"
                                                    for k in ("start", "define", "calls", "judge")])
        print(markdown_table(["run", "wall, whole class", "wall / notebook", "median per notebook",
                              "90th percentile", "process starts"], rows))
        print("\nWhere a submission's time goes (summed over the class):\n")
        print(markdown_table(["run", "process start (Python, NumPy, cflib, sandbox)",
                              "definitions (cases, tripwires, the notebook's defs)", "calls",
                              "verdicts (in the grader)"], phase_rows))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
