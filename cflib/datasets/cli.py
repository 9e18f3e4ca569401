"""The command line that fetches a MovieLens release: ``python -m cflib.datasets``."""

from __future__ import annotations

import argparse
import sys

from .download import DEADLINE_SECONDS, TIMEOUT_SECONDS
from .errors import DataError
from .movielens import ENV_VAR, REPO_DATA, fetch_movielens
from .releases import RELEASES

__all__ = ["main"]


def main(argv=None) -> int:
    """``python -m cflib.datasets [--name 100k] [--data-dir DIR] [--no-progress] ...``.

    Prints one line on success and one message (never a traceback) on any
    failure, with exit code 1 (130 after Ctrl-C).
    """
    parser = argparse.ArgumentParser(
        prog="python -m cflib.datasets",
        description="Fetch a MovieLens release once (download, verify, extract) and "
                    "print where it is.",
    )
    parser.add_argument("--name", default="100k", choices=list(RELEASES))
    parser.add_argument("--data-dir", default=None,
                        help=f"folder to use (default: ${ENV_VAR}, else {REPO_DATA})")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    parser.add_argument("--timeout", type=float, default=TIMEOUT_SECONDS,
                        help="seconds a server may send nothing (default: %(default)g)")
    parser.add_argument("--deadline", type=float, default=DEADLINE_SECONDS,
                        help="seconds one download may take in all (default: %(default)g)")
    args = parser.parse_args(argv)
    try:
        folder = fetch_movielens(args.name, args.data_dir, progress=not args.no_progress,
                                 timeout=args.timeout, deadline=args.deadline)
    except DataError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("error: interrupted; nothing half-written was left behind.", file=sys.stderr)
        return 130
    except OSError as exc:  # a file-system problem no check above foresaw
        where = f" ({exc.filename})" if exc.filename else ""
        print(f"error: {exc.strerror or exc}{where}. Check that the data folder is a writable "
              f"folder, or pass another one with --data-dir.", file=sys.stderr)
        return 1
    except Exception as exc:  # noqa: BLE001 - the command line prints one message, not a traceback
        print(f"error: unexpected {type(exc).__name__}: {exc}. This is a bug in cflib: "
              f"please report it with the command you ran.", file=sys.stderr)
        return 1
    release = RELEASES[args.name]
    print(f"{release.title} is ready in {folder} ({release.n_ratings:,} ratings, "
          f"{release.n_movies:,} movies, {release.n_users:,} users)")
    return 0

