"""The checks' settings and the functions they rely on, as they were before the learner's call.

A checked function could change how every later check judges: set
``engine.RTOL = 1``, ``guard.TIME_LIMIT = 1e9``, ``np.allclose = lambda *a, **k:
True`` or ``cflib.cost = its_own_cost``. :func:`snapshot` records, before the
call, what each name of the watched modules refers to; :func:`restore` puts back
every name the call rebound or deleted and returns them (``["engine.RTOL"]``),
and :func:`cflib.checks.guard.call_guarded` turns them into a FAIL. Names the
call adds are left alone (a lazy import adds a submodule to its package).

Watched: every loaded ``cflib`` module (the checks' settings, the references,
the engine's functions), ``numpy``, ``numpy.linalg``, NumPy's core modules
where ``allclose``, ``isclose`` and ``array_equal`` live, ``builtins``, ``math``
and ``copy``. The comparison itself does not rest on them either: the engine
compares with ufuncs bound at import time (:mod:`cflib.checks.compare`).
"""

from __future__ import annotations

import sys

#: Modules watched besides every ``cflib`` module (those that are loaded).
WATCHED = ("builtins", "math", "copy", "numpy", "numpy.linalg", "numpy._core.numeric", "numpy.core.numeric",
           "numpy._core.fromnumeric", "numpy.core.fromnumeric")
_SETTINGS = {"RTOL", "ATOL", "TIME_LIMIT", "SHOWN_LINES", "MAX_PRINTED", "STOP_GRACE", "F32_RTOL"}


def _modules() -> list:
    return [(name, m) for name, m in list(sys.modules.items())
            if m is not None and (name in WATCHED or name == "cflib" or name.startswith("cflib."))]


def snapshot() -> list:
    """``[(module name, module, copy of its namespace)]`` for every watched module."""
    return [(name, m, dict(vars(m))) for name, m in _modules()]


def _short(module: str, attr: str) -> str:
    if module.startswith("cflib.checks."):
        return f"{module.rsplit('.', 1)[1]}.{attr}"
    return f"{'np' if module == 'numpy' else module}.{attr}"


def restore(before: list) -> tuple:
    """Put back what the call changed; ``(settings, functions)``: the names of each kind it had changed."""
    settings, functions = [], []
    missing = object()
    for name, m, names in before:
        now = vars(m)
        for attr, value in names.items():
            if now.get(attr, missing) is not value:
                try:
                    setattr(m, attr, value)
                except (AttributeError, TypeError):
                    continue
                (settings if attr in _SETTINGS else functions).append(_short(name, attr))
    return sorted(settings), sorted(functions)


def sentence(settings: list, functions: list) -> str | None:
    """What the verdict says about a call that changed the checks' settings or functions; None if nothing."""
    if not settings and not functions:
        return None
    what = []
    if settings:
        what.append(f"the checks' settings ({', '.join(settings[:3])})")
    if functions:
        more = f" and {len(functions) - 3} more" if len(functions) > 3 else ""
        what.append(f"functions the checks rely on ({', '.join(functions[:3])}{more})")
    return (f"changed {' and '.join(what)}: a checked function must only compute and return its result; "
            "they are restored, and this check and the later ones judge as before")
