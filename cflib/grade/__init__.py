"""The classroom grader: collect the class's notebooks, grade them where their code cannot reach, report.

``cflib-grade SUBMISSION... --out DIR`` (or ``python -m cflib.grade``) grades
the student copies of the course's notebooks and writes ``gradebook.csv`` (one
row per student, notebook and exercise), ``students.csv`` and ``report.html``
(what the class gets wrong, ranked). The README's "For teachers" section is
the guide; the modules, in the order a submission meets them:

==================  ==================================================================
``submissions``     finding the files, naming the students, recognising the notebook
``course``          the course's exercises, checks and points (``course.json``)
``session``         the submission's process, seen from the grader: deadlines, restarts
``child``           the submission's process itself: definitions only, calls, no verdict
``sandbox``         how that process is confined (Landlock, network namespace, limits)
``wire``            the plain data its results cross in (no objects, no pickles)
``cases``           the check's cases plus fresh ones the notebook never shows
``marking``         the verdicts, computed by the grader with the checks' own judge
``gradebook``       the output files, written atomically; merging shards
``report``          report.html
``batch``           the whole run (``grade``, ``merge``); ``cli`` its command line
==================  ==================================================================
"""

__all__ = ["grade", "merge"]


def __getattr__(name):
    """``cflib.grade.grade`` and ``cflib.grade.merge`` (imported on first use, so ``python -m
    cflib.grade.course`` does not import the grader first)."""
    if name in __all__:
        from . import batch

        return getattr(batch, name)
    raise AttributeError(f"module 'cflib.grade' has no attribute {name!r}")
