"""How long a notebook takes a learner: the "Minutes" of the contents pages.

The estimate is derived from what the notebook holds, never typed in by hand, so that it
grows when a chapter grows. A learner

* reads the prose (markdown outside the navigation line and outside hidden answers) at
  ``WORDS_PER_MINUTE`` words a minute, formulas included, with a pen in hand;
* reads, runs and looks at the output of every code cell (except the generated Google Colab
  setup cell, which does nothing elsewhere): ``PER_CODE_CELL`` minutes;
* writes the code of every prepared exercise (a code cell with a ``### BEGIN SOLUTION``
  region: a function, checked by the cell after it): ``PER_FUNCTION`` minutes;
* works every other numbered exercise (``**Exercise N.**`` with no prepared cell after
  it: an experiment to code, a derivation, a comparison) and reads its answer:
  ``PER_TASK`` minutes;
* thinks through every exercise marked ``(think)`` (``**Exercise N (think).**``):
  ``PER_QUESTION`` minutes;
* does every guided experiment (a paragraph starting ``*Try:*``, moving a widget):
  ``PER_EXPERIMENT`` minutes.

The sum is rounded to the nearest 5 minutes (at least 5):

    minutes = words / WORDS_PER_MINUTE + PER_CODE_CELL * cells + PER_FUNCTION * functions
              + PER_TASK * tasks + PER_QUESTION * questions + PER_EXPERIMENT * experiments

Cells tagged ``solution`` are not in the student copy and are not counted.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from notebook_files import (BEGIN_CODE, BEGIN_MD, END_MD, SOLUTION_TAG, cell_source, cell_tags,
                            is_colab_setup, is_navigation)

WORDS_PER_MINUTE = 150
PER_CODE_CELL = 1
PER_FUNCTION = 6
PER_TASK = 8
PER_QUESTION = 3
PER_EXPERIMENT = 3
ROUND_TO = 5

_EXERCISE = re.compile(r"^\*\*Exercise\s+\d+\b([^*\n]*)\*\*", re.MULTILINE)
_EXPERIMENT = re.compile(r"^\*Try:\*", re.MULTILINE)
_ANSWER = re.compile(re.escape(BEGIN_MD) + r".*?" + re.escape(END_MD), re.DOTALL)


@dataclass(frozen=True)
class Workload:
    """What a notebook asks of a learner, counted from its cells."""

    words: int          #: words of prose to read
    code_cells: int     #: non-empty code cells to read and run
    functions: int      #: prepared exercises: code cells with a solution region
    tasks: int          #: numbered exercises without a prepared cell
    questions: int      #: numbered exercises marked (think)
    experiments: int    #: guided ``*Try:*`` experiments

    @property
    def exercises(self) -> int:
        """Every exercise: functions, tasks and questions."""
        return self.functions + self.tasks + self.questions

    @property
    def exact_minutes(self) -> float:
        """The sum of the module docstring's formula, before rounding."""
        return (self.words / WORDS_PER_MINUTE + PER_CODE_CELL * self.code_cells
                + PER_FUNCTION * self.functions + PER_TASK * self.tasks
                + PER_QUESTION * self.questions + PER_EXPERIMENT * self.experiments)

    @property
    def minutes(self) -> int:
        """:attr:`exact_minutes` rounded to the nearest ``ROUND_TO`` minutes, at least ``ROUND_TO``."""
        return max(ROUND_TO, ROUND_TO * int(self.exact_minutes / ROUND_TO + 0.5))


def _is_question(label: str) -> bool:
    return "(think)" in label.lower()


def workload(nb: dict) -> Workload:
    """Count what notebook ``nb`` (a dict as read from its file) asks of a learner.

    An ``**Exercise N.**`` heading followed by a prepared code cell (before the next
    markdown cell) is that cell's exercise and counts once, as a function.
    """
    words = code_cells = functions = tasks = questions = experiments = 0
    pending = None  # label of the last exercise heading, until we know whether a prepared cell follows

    def settle(label):
        nonlocal tasks, questions
        if label is None:
            return
        if _is_question(label):
            questions += 1
        else:
            tasks += 1

    for cell in nb.get("cells", []):
        if SOLUTION_TAG in cell_tags(cell) or is_navigation(cell) or is_colab_setup(cell):
            continue
        text = cell_source(cell)
        if cell.get("cell_type") == "markdown":
            prose = _ANSWER.sub(" ", text)
            words += len(prose.split())
            experiments += len(_EXPERIMENT.findall(prose))
            settle(pending)
            labels = _EXERCISE.findall(prose)
            for label in labels[:-1]:
                settle(label)
            pending = labels[-1] if labels else None
        elif cell.get("cell_type") == "code" and text.strip():
            code_cells += 1
            if any(line.strip() == BEGIN_CODE for line in text.splitlines()):
                functions += 1
                pending = None
    settle(pending)
    return Workload(words, code_cells, functions, tasks, questions, experiments)


def rule() -> str:
    """One sentence, for the contents pages, saying how the minutes are estimated."""
    return (f"Minutes are estimated from what each notebook holds: reading at {WORDS_PER_MINUTE} words "
            f"a minute, {PER_CODE_CELL} minute per code cell, {PER_FUNCTION} per function you write, "
            f"{PER_TASK} per other exercise, {PER_QUESTION} per question to think about and "
            f"{PER_EXPERIMENT} per guided experiment, rounded to {ROUND_TO}.")
