"""A synthetic class of submissions for the classroom grader: right answers, typical mistakes, hostile code.

Used by the grader's tests, by ``benchmarks/bench_grade.py`` and by
``make sample-report`` (a report.html a teacher can open before their class
hands anything in). Every submission is the student copy of a course notebook
(``notebooks/exercises/NN_*.ipynb``) with its exercise cells filled in, so
cell ids, order and the check cells are the handout's.

* right answers: the right alternatives of ``tests/test_learner_mistakes.py``;
* mistakes: that file's typical beginner mistakes;
* hostile code (:data:`HOSTILE`): printing PASS, replacing the check, patching
  NumPy and cflib, remembering the notebook's answers, wrapping cflib, an
  endless loop, ``os._exit``, writing outside its folder, a memory hog.

Usage: ``python tools/synthetic_class.py OUT_DIR [--students 30] [--notebooks 02,09] [--seed 0]``
"""

from __future__ import annotations

import argparse
import ast
import copy
import inspect
import json
import re
import sys
import textwrap
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
HANDOUTS = REPO / "notebooks" / "exercises"

#: Hostile bodies, by name: ``{fn}`` is the learner's function name and ``{args}`` its arguments.
HOSTILE = {
    "prints_pass": 'def {fn}({args}):\n    print("{check}: PASS - {fn} agrees with the reference")\n    return 0.0\n',
    "replaces_check": ("class _Cheat:\n    checks.{check} = staticmethod(lambda fn: fn)\n    "
                       "print('{check}: PASS')\n\n\ndef {fn}({args}):\n    return 0.0\n"),
    "patches_numpy": ("def _always(*args, **kwargs):\n    return True\n\n\nclass _Patch:\n    np.allclose = _always\n"
                      "    np.isclose = _always\n    np.array_equal = _always\n\n\n"
                      "def {fn}({args}):\n    cflib.{ref} = lambda *a, **k: 0.0\n    return 0.0\n"),
    "wraps_cflib": "from cflib.objective import cost as _c\n\n\ndef {fn}({args}):\n    return _c({args_call})\n",
    "endless_loop": "def {fn}({args}):\n    while True:\n        pass\n",
    "exits": "import os\n\n\ndef {fn}({args}):\n    os._exit(3)\n",
    "memory_hog": "def {fn}({args}):\n    big = np.ones((60000, 60000))\n    return float(big.sum())\n",
    "escapes": ("import os\n\n\ndef {fn}({args}):\n    for target in {targets!r}:\n        try:\n"
                "            with open(target, 'w') as f:\n                f.write('graded by me: 100 points')\n"
                "        except OSError:\n            pass\n    try:\n        os.kill(os.getppid(), 9)\n"
                "    except OSError:\n        pass\n    return 0.0\n"),
}


def handout(notebook: str) -> dict:
    """The student copy of a course notebook (``"02"`` or ``"02_cost_function"``)."""
    path = next(HANDOUTS.glob(f"{notebook[:2]}_*.ipynb"))
    return json.loads(path.read_text(encoding="utf-8"))


def _source(cell) -> str:
    return "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]


def fill(nb: dict, sources: dict) -> dict:
    """A copy of ``nb`` whose cell defining each function of ``sources`` holds that source instead."""
    nb = copy.deepcopy(nb)
    for cell in nb["cells"]:
        text = _source(cell)
        for name, src in sources.items():
            if cell["cell_type"] == "code" and re.search(rf"^def {name}\(", text, re.M) and "YOUR CODE" in text:
                check_line = "\n".join(line for line in text.splitlines() if line.startswith(f"{name} = checks."))
                cell["source"] = src.rstrip("\n") + ("\n" + check_line if check_line else "")
    return nb


def function_source(fn, name: str) -> str:
    """``fn``'s source renamed ``name``, after the sources of the module-level helpers it uses."""
    module = sys.modules[fn.__module__]
    helpers, seen = [], set()

    def collect(f):
        for used in f.__code__.co_names + tuple(c for c in f.__code__.co_consts if isinstance(c, str)):
            g = getattr(module, used, None)
            if inspect.isfunction(g) and g.__module__ == module.__name__ and used not in seen and g is not fn:
                seen.add(used)
                collect(g)
                helpers.append(textwrap.dedent(inspect.getsource(g)))
        for const in f.__code__.co_consts:  # nested functions and lambdas
            if inspect.iscode(const):
                collect(type("F", (), {"__code__": const})())

    collect(fn)
    own = textwrap.dedent(inspect.getsource(fn))
    own = re.sub(rf"^def {re.escape(fn.__name__)}\(", f"def {name}(", own, count=1, flags=re.M)
    text = inspect.getsource(module)
    imports = []  # the module's top-level imports, whole (several lines too), but not pytest or other test files
    for node in ast.parse(text).body:
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            names = [node.module or ""] if isinstance(node, ast.ImportFrom) else [a.name for a in node.names]
            if not any(n == "__future__" or n.split(".")[0] in ("pytest", "hypothesis") or n.startswith("test_")
                       for n in names):
                imports.append(ast.get_source_segment(text, node))
    return "\n".join(["import numpy as np", "import cflib", *imports, "", ""]) + "\n\n".join(helpers + [own])


def _learner_tries():
    sys.path.insert(0, str(REPO / "tests"))
    import test_learner_mistakes as tries

    return tries


def exercises(notebook: str) -> list:
    """The (function, check, points) of a course notebook, from cflib's course description."""
    from cflib.grade.course import load

    nb = next(v for k, v in load().items() if k[:2] == notebook[:2])
    return [(e["function"], e["check"], e["points"]) for e in nb["exercises"]]


def hostile_source(kind: str, fn: str, check: str, args: str, targets=()) -> str:
    names = [a.split("=")[0].strip() for a in args.split(",")]
    return HOSTILE[kind].format(fn=fn, check=check, args=args, args_call=", ".join(names), ref="cost",
                                targets=list(map(str, targets)))


def write_class(folder: Path, notebooks=("02", "09"), students: int = 30, seed: int = 0) -> list:
    """Write ``students`` x ``notebooks`` submissions into ``folder/<student>/<NN_name>.ipynb``.

    Returns ``[(student, notebook, kind)]`` with kind ``"right"``, ``"mistakes"`` or a key of :data:`HOSTILE`.
    """
    from cflib import checks

    tries = _learner_tries()
    rng = np.random.default_rng(seed)
    kinds = ["right"] * 3 + ["mistakes"] * 5 + list(HOSTILE)
    written = []
    for s in range(students):
        student = f"student{s + 1:02d}"
        for notebook in notebooks:
            nb = handout(notebook)
            kind = kinds[int(rng.integers(len(kinds)))]
            sources = {}
            for fn, check, _ in exercises(notebook):
                if kind == "right":
                    options = [f for c, f in tries.RIGHT if c == check]
                elif kind == "mistakes":
                    options = [f for c, f, _ in tries.MISTAKES if c == check]
                else:
                    signature = inspect.signature(getattr(checks, check))  # noqa: F841 (the check exists)
                    args = re.search(rf"def {fn}\((.*)\):", "\n".join(_source(c) for c in nb["cells"])).group(1)
                    sources[fn] = "import numpy as np\nimport cflib\nfrom cflib import checks\n\n" + \
                        hostile_source(kind, fn, check, args, targets=[folder / "escaped.txt"])
                    continue
                sources[fn] = function_source(options[int(rng.integers(len(options)))], fn)
            name = next(HANDOUTS.glob(f"{notebook[:2]}_*.ipynb")).name
            path = folder / student / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(json.dumps(fill(nb, sources), indent=1), encoding="utf-8")
            written.append((student, name[:-6], kind))
    return written


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("out", type=Path)
    p.add_argument("--students", type=int, default=30)
    p.add_argument("--notebooks", default="02,09")
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args(argv)
    written = write_class(args.out, tuple(args.notebooks.split(",")), args.students, args.seed)
    print(f"wrote {len(written)} submissions of {args.students} students into {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
