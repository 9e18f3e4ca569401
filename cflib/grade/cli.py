"""``cflib-grade`` (also ``python -m cflib.grade``): the command line of the classroom grader.

::

    cflib-grade SUBMISSION... --out DIR [--notebooks 02,09] [--time-limit S] [--jobs N] [--shard I/N]
    cflib-grade --merge DIR... --out DIR

Exit code 0 when grading finished (whatever the students' results), 2 with a
message naming the argument for unusable arguments.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .batch import grade, merge
from .course import load


def _positive(name: str, kind=float, upper=None):
    def parse(text: str):
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{name} must be a {'whole ' if kind is int else ''}number, "
                                             f"got {text!r}") from None
        if not value > 0 or (upper is not None and value > upper):
            raise argparse.ArgumentTypeError(f"{name} must be > 0{f' and <= {upper}' if upper else ''}, got {text}")
        return value
    return parse


def _shard(text: str):
    try:
        i, n = (int(x) for x in text.split("/"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"--shard must be I/N such as 1/4, got {text!r}") from None
    if not 1 <= i <= n:
        raise argparse.ArgumentTypeError(f"--shard I/N needs 1 <= I <= N, got {text!r}")
    return i, n


def _notebooks(text: str, course: dict) -> set:
    wanted = set()
    for item in filter(None, (t.strip() for t in text.split(","))):
        match = [nb for nb in course if nb == item or nb.split("_", 1)[0] == item.zfill(2)]
        if not match:
            raise argparse.ArgumentTypeError(f"--notebooks: {item!r} is not a course notebook with exercises; "
                                             f"choose from {', '.join(nb[:2] for nb in course)}")
        wanted.update(match)
    if not wanted:
        raise argparse.ArgumentTypeError("--notebooks is empty: give numbers such as 02,09")
    return wanted


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="cflib-grade", description="Grade the course's notebooks handed in by a class, each submission in its "
        "own confined process, and write gradebook.csv, students.csv and report.html.",
        epilog="Layouts: nbgrader's submitted/<student>/<assignment>/*.ipynb, <student>/<NN_name>.ipynb, or a flat "
               "folder of <student>__<NN_name>.ipynb or <student>.ipynb. README, section 'For teachers'.")
    p.add_argument("submissions", nargs="*", metavar="SUBMISSION", help="notebook files or folders of them")
    p.add_argument("--out", required=True, type=Path, metavar="DIR", help="the folder to write the results into")
    p.add_argument("--merge", nargs="+", type=Path, metavar="DIR", help="join the --out folders of --shard runs")
    p.add_argument("--notebooks", metavar="NN,NN", help="grade only these notebooks, e.g. 02,09 (default: all)")
    p.add_argument("--time-limit", type=_positive("--time-limit", upper=3600), default=20.0, metavar="S",
                   help="seconds per call of a learner's function (default 20)")
    p.add_argument("--notebook-time-limit", type=_positive("--notebook-time-limit", upper=86400), default=300.0,
                   metavar="S", help="seconds per submitted notebook (default 300)")
    p.add_argument("--memory-limit", type=_positive("--memory-limit", upper=1024), default=2.0, metavar="GIB",
                   help="address space per submission, in GiB (default 2)")
    p.add_argument("--jobs", type=_positive("--jobs", int, upper=256), default=1, metavar="N",
                   help="submissions graded at once, one process each (default 1)")
    p.add_argument("--shard", type=_shard, metavar="I/N", help="grade only the I-th of N parts, split by student")
    p.add_argument("--seed", type=int, default=0, help="mixed into the fresh test cases (keep it private if you like)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    return p


def main(argv=None) -> int:
    p = parser()
    args = p.parse_args(argv)
    if args.merge and args.submissions:
        p.error("give either SUBMISSION... or --merge DIR..., not both")
    if not args.merge and not args.submissions:
        p.error("give at least one SUBMISSION (a notebook or a folder), or --merge DIR...")
    if args.out.exists() and not args.out.is_dir():
        p.error(f"--out {args.out} is a file: give a folder")
    for folder in args.merge or ():
        if not folder.is_dir():
            p.error(f"--merge {folder} is not a folder written by cflib-grade --out")
    if args.merge:
        try:
            summary = merge(args.merge, args.out)
        except ValueError as exc:
            p.error(str(exc))
        print(summary.line(args.out))
        return 0
    try:
        notebooks = _notebooks(args.notebooks, load()) if args.notebooks else None
    except argparse.ArgumentTypeError as exc:
        p.error(str(exc))
    try:
        summary = grade(args.submissions, args.out, notebooks=notebooks, time_limit=args.time_limit,
                        notebook_limit=args.notebook_time_limit, memory_gib=args.memory_limit, jobs=args.jobs,
                        shard=args.shard, seed=args.seed, progress=not args.no_progress)
    except FileNotFoundError as exc:
        p.error(str(exc))
    except KeyboardInterrupt:
        print("cflib-grade: interrupted; nothing was written to --out", file=sys.stderr)
        return 130
    for line in summary.skipped:
        print(f"skipped {line}", file=sys.stderr)
    print(summary.line(args.out))
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())

