"""Measuring tools shared by the benchmark scripts: machine description, timings, memory.

Imported by ``bench_cost.py`` and ``bench_scale.py`` (run as
``python benchmarks/<script>.py``, so this folder is on ``sys.path``).

* :func:`machine_markdown` describes where the figures were taken (CPU model,
  cores, RAM, versions, date, load average), as a markdown list.
* :func:`time_runs` times a callable several times and returns every run, so
  the scripts report medians (the machines are shared and noisy).
* :func:`peak_extra_bytes` measures the peak memory a call allocates on top of
  what existed before it, with :mod:`tracemalloc` (numpy reports its array
  buffers to tracemalloc, so large arrays are counted).
* :func:`markdown_table` prints rows as a markdown table to paste into
  ``benchmarks/README.md``.
"""

from __future__ import annotations

import datetime as _dt
import os
import platform
import resource
import statistics
import sys
import time
import tracemalloc

import numpy as np
import scipy

__all__ = [
    "machine_markdown",
    "load_average",
    "time_runs",
    "median",
    "peak_extra_bytes",
    "max_rss_bytes",
    "fmt_bytes",
    "fmt_seconds",
    "markdown_table",
]


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def _ram_bytes() -> int | None:
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return None


def _blas_description() -> str:
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return "unknown"
    blas = [f"{p.get('internal_api')} {p.get('version')} ({p.get('num_threads')} threads)"
            for p in threadpool_info() if p.get("user_api") == "blas"]
    return ", ".join(blas) or "none found"


def load_average() -> str:
    """The 1, 5 and 15 minute load averages, e.g. ``"0.52 0.40 0.31"``."""
    try:
        return " ".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:
        return "unknown"


def machine_markdown() -> str:
    """Where and when the figures were taken, as a markdown bullet list."""
    ram = _ram_bytes()
    now = _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    lines = [
        f"- date: {now}",
        f"- CPU: {_cpu_model()}, {os.cpu_count()} logical cores",
        f"- RAM: {fmt_bytes(ram) if ram else 'unknown'}",
        f"- Python {platform.python_version()}, numpy {np.__version__}, scipy {scipy.__version__}",
        f"- BLAS: {_blas_description()}",
        f"- load average (1, 5, 15 min) at start: {load_average()}",
    ]
    return "\n".join(lines)


def time_runs(fn, repeats: int, warmup: int = 1, cpu: list | None = None) -> list[float]:
    """Wall-clock seconds of ``repeats`` calls of ``fn()`` after ``warmup`` untimed calls.

    When a list is passed as ``cpu``, the CPU seconds of this process during each
    call (all its threads, :func:`time.process_time`) are appended to it: on a
    shared machine they vary much less with the other users' load than wall time.
    """
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        start_cpu = time.process_time()
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
        if cpu is not None:
            cpu.append(time.process_time() - start_cpu)
    return times


def median(values) -> float:
    """Median of a non-empty sequence of numbers."""
    return float(statistics.median(values))


def peak_extra_bytes(fn):
    """Run ``fn()`` once under tracemalloc; return ``(result, peak extra bytes)``.

    The peak counts every Python object and numpy buffer allocated during the
    call and alive at the same moment, minus nothing that existed before.
    The returned result itself is included (it is allocated during the call).
    """
    already = tracemalloc.is_tracing()
    if not already:
        tracemalloc.start()
    tracemalloc.reset_peak()
    before, _ = tracemalloc.get_traced_memory()
    try:
        result = fn()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        if not already:
            tracemalloc.stop()
    return result, max(0, peak - before)


def max_rss_bytes() -> int:
    """High-water mark of this process's resident memory so far (Linux: ru_maxrss in KiB)."""
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return int(rss) * (1 if sys.platform == "darwin" else 1024)


def fmt_bytes(n: float | None) -> str:
    """``1536 -> '1.5 KiB'``: binary multiples (1 GiB = 1024**3 bytes)."""
    if n is None:
        return "-"
    n = float(n)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if abs(n) < 1024:
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} TiB"


def fmt_seconds(s: float | None) -> str:
    """Seconds in a readable unit: ``0.0042 -> '4.20 ms'``, ``2.5 -> '2.50 s'``."""
    if s is None:
        return "-"
    if s < 1e-3:
        return f"{s * 1e6:.0f} us"
    if s < 1:
        return f"{s * 1e3:.2f} ms"
    return f"{s:.2f} s"


def markdown_table(header: list[str], rows: list[list]) -> str:
    """Rows (lists of already formatted cells) as a GitHub markdown table."""
    out = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    out += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(out)
