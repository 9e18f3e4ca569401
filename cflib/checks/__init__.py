"""Self-checks for the exercises: no account, no token, no server, no network.

Each ``check_xxx(fn)`` runs the learner's ``fn`` on a few small fixed and
seeded random problems, compares the results with cflib's reference
implementation and prints ONE line:

* ``check_cost: PASS - ...`` when every case agrees;
* ``check_cost: not implemented yet - ...`` when ``fn`` raises
  ``NotImplementedError`` (the generated student notebooks start that way);
* ``check_cost: FAIL - <what is wrong>. Hint: <how to fix it>. ...`` otherwise.
  The common mistakes each get their own diagnosis (the mask R forgotten,
  the 1/2 forgotten, ``lam`` missing or on the wrong term, X and Theta
  swapped, wrong shapes, NaN, and for a pair of results such as
  ``(X_grad, Theta_grad)`` the block that is wrong).

The learner's function is called on copies of the inputs (changing them is a
FAIL that names the argument), with a time limit per call (20 s by default,
:func:`set_time_limit`), with its printed output captured; an exception,
``sys.exit`` or an unreadable result is a one-line FAIL, never a traceback.
The stop button (KeyboardInterrupt) still stops the cell.

It RETURNS ``fn`` when it passed, otherwise a :class:`StandIn` (cflib's
reference, which says that it stands in), so the cells after an unsolved
exercise still run, and :func:`who` names what really ran::

    my_cost = checks.check_cost(my_cost)
    print(f"{checks.who(my_cost, 'my_cost')}: J = {my_cost(X, Theta, Y, R):.4f}")

The printed line never contains timings or random numbers, so it can be
stored in a notebook and compared by nbval.

The checks, by part of the course (one module each):

==========================  ===========  ==========================================
module                      notebooks    checks
==========================  ===========  ==========================================
``data_model``              00-01        check_to_dense, check_movie_means,
                                         check_predict, check_truncated_svd
``cost_gradient``           02-03        check_cost, check_cost_sparse,
                                         check_analytic_gradient, check_gradient_sparse,
                                         check_user_gradient
``gradient_checking``       04           check_numerical_gradient, check_buggy_gradient
``training``                05-06        check_gradient_descent_step, check_normalize,
                                         check_rmse
``recommendations``         07           check_fold_in
``top_n``                   09           check_precision_at_k, check_ndcg_at_k
``implicit_feedback``       10           check_implicit_row
``bayesian``                11           check_sample_row
``spark_objective``         12           check_row_penalty
``factorization``           13           check_fm_pairwise, check_fm_gradient,
                                         check_sgd_step
``evaluation``              14           check_sampled_recall, check_ease,
                                         check_bpr_gradient
==========================  ===========  ==========================================

``engine`` holds the spec (:class:`~cflib.checks.engine.CheckSpec`), the cases,
the verdict (``judge``) and the diagnosis; ``wording`` how its sentences are
joined; ``guard`` the safe call and the stand-in; ``results`` the reading of a
result (``scalar``, ``array``, ``pair``) and what it refuses; ``problems`` the test
problems the checks share; ``capture`` the classroom grader's hooks (a check's
spec without running it, and cases drawn afresh: :mod:`cflib.grade`). ``bayesian`` checks a random draw: it runs
the learner's sampler many times inside one guarded call and compares the
moments of the draws (its docstring says how).

How to add a check (for a new chapter, as ``top_n`` (NDCG), ``implicit_feedback``
(an implicit-ALS row solve) and ``bayesian`` (a Gibbs conditional draw) were added)
------------------------------------------------------------------------------
1. Create ``cflib/checks/<part>.py`` (e.g. ``top_n.py``), named for the part of
   the course and not like anything cflib exports, with
   ``__all__ = ["check_ndcg", ...]``. Import from ``.engine``: ``Case``,
   ``CheckSpec``, ``Mistake``, ``cases_from``, ``run``, ``lazy`` and the result
   readers ``scalar``, ``array``, ``pair``; reuse ``.problems`` where its
   problems fit, or write small seeded ones in the module.
2. Write ``def check_ndcg(fn):`` with a numpydoc docstring stating the
   formula, the shapes and the domain it checks. Build the cases
   (``Case(label, args, lam=None)``, or ``cases_from(triples)``), list the
   known mistakes as ``Mistake(phrase, hint, wrong_fn)`` (``phrase`` completes
   "<part> ..."), and end with ``return run(CheckSpec(name="check_ndcg",
   signature="scores, relevance, k", ref_name="cflib.ranking.ndcg",
   reference=lazy("ranking", "ndcg"), cases=cases, parts=("the NDCG",),
   split=lambda out, case: (scalar(out, "the NDCG (one number)"),),
   mistakes=[...], data_hint="..."), fn)``. A draw from a distribution cannot be
   compared number by number (two right samplers may use the generator
   differently): ``bayesian.check_sample_row`` hands ``run`` a wrapper that
   draws many times from a seeded generator, and its ``split`` turns the draws
   into the exact mean and covariance they statistically match.
3. Add one import line below, after the part it follows in the course:
   ``from .ranking import *  # noqa: E402,F401,F403``. ``CHECKS`` and ``__all__``
   are built from what the import lines bring in; add the new row to the README's
   table of checks, which ``tests/test_checks_layout.py`` keeps equal to ``CHECKS``.
4. Add the right answer to ``RIGHT`` and each mistake to ``MISTAKES`` in
   ``tests/test_checks.py``: the right answer must PASS, each mistake must get
   its phrase.
"""

# The parts of the course, in course order: one import line each (the recipe above, step 3).
from .data_model import *  # noqa: E402,F401,F403
from .cost_gradient import *  # noqa: E402,F401,F403
from .gradient_checking import *  # noqa: E402,F401,F403
from .training import *  # noqa: E402,F401,F403
from .recommendations import *  # noqa: E402,F401,F403
from .top_n import *  # noqa: E402,F401,F403
from .implicit_feedback import *  # noqa: E402,F401,F403
from .bayesian import *  # noqa: E402,F401,F403
from .spark_objective import *  # noqa: E402,F401,F403
from .factorization import *  # noqa: E402,F401,F403
from .evaluation import *  # noqa: E402,F401,F403

from .engine import ATOL, RTOL  # noqa: E402,F401
from .guard import StandIn, set_time_limit, who  # noqa: E402,F401

#: Every exercise check, in course order (the order of the import lines above).
CHECKS = tuple(name for name, obj in list(globals().items()) if name.startswith("check_") and callable(obj))

__all__ = [*CHECKS, "penalty_sign_bug", "StandIn", "who", "set_time_limit", "CHECKS"]
