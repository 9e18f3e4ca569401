"""The checks cannot be fooled, hung or crashed by the learner's function (issue 11, section 1).

Every case ends as ONE printed line with no traceback; KeyboardInterrupt still
stops the cell; after a FAIL the returned stand-in says that cflib's version runs.
"""

import os
import signal
import sys
import threading

import numpy as np
import pytest

import cflib
from cflib import checks
from cflib.checks import guard
from cflib.evaluate import rmse as ref_rmse
from cflib.ratings import movie_means as ref_movie_means
from cflib.ratings import to_dense as ref_to_dense
from cflib.recommend import fold_in as ref_fold_in
from cflib.train import gradient_descent_step as ref_step
from cflib.train import normalize_ratings as ref_normalize


def one_line(check, fn, capsys):
    got = check(fn)
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert len(lines) == 1, out
    assert "Traceback" not in lines[0]
    return lines[0], got


# ------------------------------------------------------- inputs changed in place
def normalize_zeroes_y(Y, R):
    out = ref_normalize(Y, R)
    Y[:] = 0
    return out


def cost_zeroes_theta(X, Theta, Y, R, lam=0.0):
    J = cflib.cost(X, Theta, Y, R, lam)
    Theta *= 0
    return J


def gradient_scales_r(X, Theta, Y, R, lam=0.0):
    g = cflib.gradient(X, Theta, Y, R, lam)
    R[:] = False
    return g


def sparse_gradient_overwrites_x(X, Theta, movies, users, ratings, lam=0.0):
    g = cflib.gradient_sparse(X, Theta, movies, users, ratings, lam)
    X[:] = 0.0
    return g


def rmse_sorts_actual(predictions, actual):
    value = ref_rmse(predictions, actual)
    actual.sort()
    return value


@pytest.mark.parametrize("check, fn, arg", [
    (checks.check_normalize, normalize_zeroes_y, "Y"),
    (checks.check_cost, cost_zeroes_theta, "Theta"),
    (checks.check_analytic_gradient, gradient_scales_r, "R"),
    (checks.check_gradient_sparse, sparse_gradient_overwrites_x, "X"),
    (checks.check_rmse, rmse_sorts_actual, "actual"),
])
def test_a_function_that_changes_its_inputs_fails_naming_the_argument(check, fn, arg, capsys):
    line, got = one_line(check, fn, capsys)
    assert line.startswith(f"{check.__name__}: FAIL - it changed its argument {arg} in place"), line
    assert f"{arg} = {arg}.copy()" in line
    assert isinstance(got, checks.StandIn)


def test_sparse_gradient_overwriting_x_is_not_blamed_on_theta_grad(capsys):
    line, _ = one_line(checks.check_gradient_sparse, sparse_gradient_overwrites_x, capsys)
    assert "Theta_grad" not in line and "X_grad is right" not in line


def test_the_inputs_are_compared_with_nan_equal_to_nan(capsys):
    """A movie nobody rated: comparing unchanged inputs that hold NaN must not look like a change."""
    Y = np.array([[np.nan, 1.0]])
    assert guard._same(Y, Y.copy()) and not guard._same(Y, np.array([[0.0, 1.0]]))
    assert guard._same([Y, np.ones(2)], [Y.copy(), np.ones(2)])


# ------------------------------------------------------------------ time limit
def endless_normalize(Y, R):
    while True:
        pass


def test_default_time_limit_is_20_seconds_and_configurable():
    assert guard.TIME_LIMIT == 20.0
    old = checks.set_time_limit(5)
    try:
        assert old == 20.0 and guard.TIME_LIMIT == 5.0
    finally:
        checks.set_time_limit(old)
    with pytest.raises(ValueError, match="seconds"):
        checks.set_time_limit(0)


def test_an_endless_loop_fails_after_the_time_limit(capsys):
    old = checks.set_time_limit(0.2)
    try:
        line, got = one_line(checks.check_normalize, endless_normalize, capsys)
    finally:
        checks.set_time_limit(old)
    assert line.startswith("check_normalize: FAIL - it took longer than 0.2 s: is there an endless loop?"), line
    assert isinstance(got, checks.StandIn)
    # the alarm is off again: nothing fires later
    assert signal.getitimer(signal.ITIMER_REAL) == (0.0, 0.0)


def test_after_one_timeout_the_other_cases_are_not_run(capsys):
    calls = []

    def endless_after_counting(Y, R):
        calls.append(1)
        while True:
            pass

    old = checks.set_time_limit(0.2)
    try:
        line, _ = one_line(checks.check_normalize, endless_after_counting, capsys)
    finally:
        checks.set_time_limit(old)
    assert "took longer than 0.2 s" in line and len(calls) == 1


def test_the_limit_message_quotes_20_s_by_default(capsys):
    out = guard.call_guarded(endless_normalize, checks.engine.Case("x", (np.zeros((1, 1)), np.ones((1, 1), bool))),
                             lambda out, case: (out,), limit=0.1)
    assert out.kind == "invalid" and out.value == "took longer than 0.1 s: is there an endless loop?"
    assert f"took longer than {guard.TIME_LIMIT:g} s" == "took longer than 20 s"


def test_outside_the_main_thread_the_time_limit_holds_too():
    """The call runs in a worker stopped from outside: no signal needed, so any thread has a limit."""
    lines = []

    def in_thread():
        import contextlib
        import io

        old = checks.set_time_limit(0.2)
        try:
            for fn in (ref_rmse, lambda p, a: [0 for _ in iter(int, 1)]):
                buf = io.StringIO()
                with contextlib.redirect_stdout(buf):
                    checks.check_rmse(fn)
                lines.extend(buf.getvalue().splitlines())
        finally:
            checks.set_time_limit(old)

    t = threading.Thread(target=in_thread)
    t.start()
    t.join(60)
    assert len(lines) == 2 and lines[0].startswith("check_rmse: PASS"), lines
    assert lines[1].startswith("check_rmse: FAIL - it took longer than 0.2 s: is there an endless loop?"), lines


# ------------------------------------------------------- other misbehaviour
def flooding_rmse(predictions, actual):
    for i in range(500):
        print(f"debug line {i}")
    print("to stderr", file=sys.stderr)
    return ref_rmse(predictions, actual)


def test_flooded_output_is_captured_and_a_few_lines_are_quoted(capsys):
    line, got = one_line(checks.check_rmse, flooding_rmse, capsys)
    assert line.startswith("check_rmse: PASS - flooding_rmse agrees")
    assert "debug line 0 | debug line 1 | debug line 2 (and" in line and "debug line 3 " not in line
    assert got is flooding_rmse
    assert capsys.readouterr().err == ""


def exits_cost(X, Theta, Y, R, lam=0.0):
    sys.exit("bye")


def test_sys_exit_is_a_one_line_fail(capsys):
    line, got = one_line(checks.check_cost, exits_cost, capsys)
    assert line.startswith("check_cost: FAIL - it called sys.exit(): a checked function must return its result")
    assert isinstance(got, checks.StandIn)


class _Unreadable:
    def __array__(self, *args, **kwargs):
        raise RuntimeError("cannot convert")


def test_a_result_whose_array_raises_is_a_one_line_fail(capsys):
    line, got = one_line(checks.check_movie_means, lambda Y, R: _Unreadable(), capsys)
    assert line.startswith("check_movie_means: FAIL - it returned a _Unreadable that cannot be read as an array "
                           "(RuntimeError: cannot convert)"), line
    line, _ = one_line(checks.check_analytic_gradient, lambda *a: (_Unreadable(), _Unreadable()), capsys)
    assert "cannot be read as an array" in line


def test_keyboard_interrupt_still_stops_the_cell(capsys):
    def interrupted(predictions, actual):
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        checks.check_rmse(interrupted)


def test_a_real_sigint_still_stops_the_cell():
    def waits_for_sigint(predictions, actual):
        os.kill(os.getpid(), signal.SIGINT)
        while True:
            pass

    old = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        with pytest.raises(KeyboardInterrupt):
            checks.check_rmse(waits_for_sigint)
    finally:
        signal.signal(signal.SIGINT, old)
    assert signal.getitimer(signal.ITIMER_REAL) == (0.0, 0.0)


# ------------------------------------------------------------ the stand-in
def test_the_stand_in_announces_itself_and_computes_the_reference(capsys):
    got = checks.check_cost(lambda *a: 1.0)
    capsys.readouterr()
    assert isinstance(got, checks.StandIn) and got.reference is cflib.cost
    assert str(got) == "cflib.cost (stands in: yours did not pass its check)"
    assert checks.who(got, "my_cost") == "cflib.cost (stands in: yours did not pass its check)"
    X, Theta, Y, R = cflib.gradcheck.small_problem(seed=0)
    assert got(X, Theta, Y, R, 1.0) == cflib.cost(X, Theta, Y, R, 1.0)
    todo = checks.check_cost(lambda *a: (_ for _ in ()).throw(NotImplementedError))
    capsys.readouterr()
    assert checks.who(todo, "my_cost") == "cflib.cost (stands in: yours is not written yet)"


def test_who_names_the_learner_after_a_pass(capsys):
    fn = checks.check_rmse(lambda p, a: np.sqrt(np.mean((p - a) ** 2)))
    capsys.readouterr()
    assert checks.who(fn, "my_rmse") == "my_rmse"


def test_checking_a_stand_in_again_does_not_pass(capsys):
    stand_in = checks.check_cost(lambda *a: 1.0)
    capsys.readouterr()
    line, got = one_line(checks.check_cost, stand_in, capsys)
    assert line.startswith("check_cost: FAIL - this is cflib.cost standing in for yours"), line
    assert got is stand_in


# ------------------------------------------------------------ specific diagnoses
def numgrad_shared_array(f, params, eps):
    params = [np.array(p, dtype=float) for p in params]
    out = []
    for p in params:
        g = np.zeros_like(p)
        for t in range(p.size):
            p_plus = p
            p_minus = p  # the same array: the - eps undoes the + eps
            p_plus.flat[t] += eps
            f_plus = f(*params)
            p_minus.flat[t] -= eps
            f_minus = f(*params)
            g.flat[t] = (f_plus - f_minus) / (2 * eps)
        out.append(g)
    return tuple(out)


def test_shared_plus_minus_array_is_diagnosed_as_half_with_block_and_position(capsys):
    line, _ = one_line(checks.check_numerical_gradient, numgrad_shared_array, capsys)
    assert "is half the right value" in line and "share one array" in line, line
    assert "at X[3, 2] expected -15.7975, got -7.89858" in line, line
    assert "index" not in line


def numgrad_shared_array_both_first(f, params, eps):
    out = []
    for i, p in enumerate(params):
        g = np.zeros_like(p, dtype=float)
        for t in range(p.size):
            p_plus = np.array(p, dtype=float)
            p_minus = p_plus  # one array: both steps are applied before f runs
            p_plus.flat[t] += eps
            p_minus.flat[t] -= eps
            f_plus = f(*params[:i], p_plus, *params[i + 1:])
            f_minus = f(*params[:i], p_minus, *params[i + 1:])
            g.flat[t] = (f_plus - f_minus) / (2 * eps)
        out.append(g)
    return tuple(out)


def test_shared_array_with_both_steps_first_is_diagnosed_as_zero(capsys):
    line, _ = one_line(checks.check_numerical_gradient, numgrad_shared_array_both_first, capsys)
    assert "is 0 everywhere (at X[3, 2] expected -15.7975, got 0" in line and "one array" in line, line


def test_a_wrong_numerical_gradient_entry_is_located_in_its_block(capsys):
    def wrong_in_theta(f, params, eps):
        g = [b.copy() for b in cflib.numerical_gradient(f, params, eps)]
        g[-1].flat[-1] += 1.0
        return tuple(g)

    line, _ = one_line(checks.check_numerical_gradient, wrong_in_theta, capsys)
    assert "at Theta[4, 2] expected" in line, line


def test_y_mean_axis_1_in_movie_means_has_its_own_diagnosis(capsys):
    line, _ = one_line(checks.check_movie_means, lambda Y, R: Y.mean(axis=1), capsys)
    assert "is Y.mean(axis=1)" in line and "classic mistake of section 6" in line, line


def test_unmasked_numerator_in_movie_means_is_diagnosed_with_or_without_a_guard(capsys):
    for fn in (lambda Y, R: Y.sum(axis=1) / R.sum(axis=1),
               lambda Y, R: Y.sum(axis=1) / np.maximum(R.sum(axis=1), 1)):
        line, _ = one_line(checks.check_movie_means, fn, capsys)
        assert "the numerator is not masked" in line, line


def test_a_normalize_fallback_other_than_the_rule_quotes_the_rule(capsys):
    def fallback_three(Y, R):
        Y_norm, mean = ref_normalize(Y, R)
        return Y_norm, np.where(R.sum(axis=1) > 0, mean, 3.0)

    line, _ = one_line(checks.check_normalize, fallback_three, capsys)
    assert "is wrong only for the movie" in line and "nobody rated" in line, line
    assert "the rule: a movie nobody rated gets the global mean of all ratings, Y[R].mean()" in line


def test_normalize_hints_are_separate_sentences(capsys):
    """Two wrong parts with two hints: each hint is its own sentence, the second starts with a capital."""
    def two_mistakes(Y, R):
        counts = R.sum(axis=1)
        mean = np.where(counts > 0, np.where(R, Y, 0).sum(axis=1) / np.maximum(counts, 1), 0.0)
        return Y - mean[:, None], mean

    line, _ = one_line(checks.check_normalize, two_mistakes, capsys)
    assert "0 elsewhere. For a movie nobody rated use the mean of all ratings" in line, line
    assert ". for " not in line


def test_gradcheck_report_grammar():
    report = cflib.check_gradient(1.5, gradient_fn=checks.penalty_sign_bug).report()
    assert "FAIL: X_grad and Theta_grad do not match the numerical gradient." in report
    X, Theta, Y, R = cflib.gradcheck.small_problem()

    def theta_wrong(X, Theta, Y, R, lam=0.0):
        Xg, Tg = cflib.gradient(X, Theta, Y, R, lam)
        return Xg, 2 * Tg

    assert "FAIL: Theta_grad does not match" in cflib.check_gradient(0.0, gradient_fn=theta_wrong).report()


# ------------------------------------------------------------- notes, domains
def to_dense_from_y(movies, users, ratings, n_movies, n_users):
    Y = np.zeros((n_movies, n_users))
    Y[movies, users] = ratings
    R = Y > 0
    return Y, R


def test_r_from_y_is_caught_by_a_case_with_ratings_of_zero(capsys):
    """check_to_dense has a case of centred ratings (0.0 and below): R = Y > 0 misses them and FAILs."""
    line, got = one_line(checks.check_to_dense, to_dense_from_y, capsys)
    assert line.startswith("check_to_dense: FAIL") and "R is computed from the values of Y" in line, line
    assert isinstance(got, checks.StandIn)
    line, _ = one_line(checks.check_to_dense, ref_to_dense, capsys)
    assert "Note:" not in line


def fold_in_dual(X, movies, ratings, lam):
    X_r = X[movies]
    return X_r.T @ np.linalg.solve(X_r @ X_r.T + lam * np.eye(len(movies)), ratings)


def fold_in_inv(X, movies, ratings, lam):
    X_r = X[movies]
    return np.linalg.inv(X_r.T @ X_r + lam * np.eye(X.shape[1])) @ X_r.T @ ratings


def test_fold_in_dual_form_passes_on_the_exercise_domain(capsys):
    line, got = one_line(checks.check_fold_in, fold_in_dual, capsys)
    assert line.startswith("check_fold_in: PASS"), line
    assert got is fold_in_dual
    seen = []

    def records_lam(X, movies, ratings, lam):
        seen.append(lam)
        return ref_fold_in(X, movies, ratings, lam)

    one_line(checks.check_fold_in, records_lam, capsys)
    assert len(seen) == 4 and min(seen) > 0  # the exercise's domain, lam > 0


def test_fold_in_with_inv_passes_with_a_note(capsys):
    line, _ = one_line(checks.check_fold_in, fold_in_inv, capsys)
    assert line.startswith("check_fold_in: PASS") and "Note: you invert the matrix with np.linalg.inv" in line
    line, _ = one_line(checks.check_fold_in, ref_fold_in, capsys)
    assert "Note:" not in line


def test_every_check_runs_its_reference_within_one_line(capsys):
    refs = {checks.check_rmse: ref_rmse, checks.check_gradient_descent_step: ref_step,
            checks.check_movie_means: ref_movie_means}
    for check, ref in refs.items():
        line, got = one_line(check, ref, capsys)
        assert "PASS" in line and got is ref


def test_rmse_check_stays_in_the_domain_the_exercise_states(capsys):
    """Exercise 06.1 says clipping is up to the learner because every prediction the check passes is in 1..5."""
    seen = []

    def records(predictions, actual):
        seen.append(np.asarray(predictions, dtype=float))
        return ref_rmse(predictions, actual)

    line, _ = one_line(checks.check_rmse, records, capsys)
    assert line.startswith("check_rmse: PASS") and len(seen) == 3
    assert min(p.min() for p in seen) >= 1.0 and max(p.max() for p in seen) <= 5.0
    line, _ = one_line(checks.check_rmse, lambda p, a: ref_rmse(np.clip(p, 1, 5), a), capsys)
    assert line.startswith("check_rmse: PASS")


# ---------------------------------------------- the finite differences the checks use
def test_finite_differences_schemes_and_the_caller_arrays():
    from cflib.gradcheck import finite_differences

    a = np.array([0.3, -1.2, 2.0])

    def f(x):
        return float(np.sum(x ** 3))

    exact = 3 * a ** 2
    central = finite_differences(f, [a], 1e-4)[0]
    forward = finite_differences(f, [a], 1e-4, scheme="forward")[0]
    assert np.allclose(central, exact, rtol=1e-7) and not np.allclose(forward, exact, rtol=1e-7)
    assert np.allclose(forward, exact + 3 * a * 1e-4, rtol=1e-6)  # forward error 3 a h for f = x**3
    assert np.array_equal(a, [0.3, -1.2, 2.0])  # the caller's array is untouched
    assert np.array_equal(cflib.numerical_gradient(f, [a], 1e-4)[0], central)
    # restore=False: each later entry is differentiated with the earlier ones left at p - h
    def g(x):
        return float(np.sum(x) ** 3)  # not separable: every derivative depends on every entry

    h = 1e-2
    right = finite_differences(g, [a], h)[0]
    stuck = finite_differences(g, [a], h, restore=False)[0]
    assert stuck[0] == pytest.approx(right[0], rel=1e-12)  # the first entry sees the true point
    assert stuck[2] == pytest.approx(3 * (a.sum() - 2 * h) ** 2, rel=1e-3)  # two entries left at p - h
    assert abs(stuck[2] - right[2]) > 1e-2
    with pytest.raises(ValueError, match="scheme"):
        finite_differences(f, [a], 1e-4, scheme="backward")
    with pytest.raises(ValueError, match="eps"):
        finite_differences(f, [a], 0.0)


# ---------------------------------------------- the time limit refuses what it cannot honour
@pytest.mark.parametrize("bad, error", [(0, ValueError), (-1, ValueError), (float("nan"), ValueError),
                                        (float("inf"), ValueError), (86_401, ValueError), (1e9, ValueError),
                                        ("5", TypeError), (True, TypeError), (None, TypeError), ([1], TypeError)],
                         ids=repr)
def test_set_time_limit_refuses_values_it_cannot_honour(bad, error):
    with pytest.raises(error, match="seconds"):
        checks.set_time_limit(bad)
    assert guard.TIME_LIMIT == 20.0
    assert checks.set_time_limit(86_400) == 20.0 and checks.set_time_limit(20.0) == 86_400.0


# ---------------------------------------------- a FAIL line is honest about its numbers
def test_two_numbers_that_differ_never_print_alike():
    from cflib.checks.compare import describe_difference

    case = checks.engine.Case("x", ())
    text = describe_difference("J", np.array(3.26325001), np.array(3.26325), case)
    assert text.startswith("expected 3.26325, got 3.26325001 (a relative difference of 3.1e-09)"), text
    text = describe_difference("X_grad", np.array([[1.0, 6.945861]]), np.array([[1.0, 6.945859]]), case)
    assert "at X_grad[0, 1] expected 6.945859, got 6.945861 (a relative difference of" in text, text
    assert describe_difference("J", np.array(4.0), np.array(3.0), case) == "expected 3, got 4"


def test_a_result_off_in_the_seventh_digit_shows_the_digits_that_differ(capsys):
    line, _ = one_line(checks.check_rmse, lambda p, a: ref_rmse(p, a) * (1 + 3e-6), capsys)
    assert line.startswith("check_rmse: FAIL") and "relative difference of 3.0e-06" in line, line
    expected, got = line.split("expected ")[1].split(", got ")
    assert expected.split()[0] != got.split()[0]


def float32_gradient(X, Theta, Y, R, lam=0.0):
    X, Theta = X.astype(np.float32), Theta.astype(np.float32)
    E = np.where(R, X @ Theta.T - Y, 0).astype(np.float32)
    return E @ Theta + np.float32(lam) * X, E.T @ X + np.float32(lam) * Theta


def test_float32_results_are_judged_at_float32_precision_everywhere_and_said_so(capsys):
    """One policy for every check: a right float32 result PASSes with a note; a wrong one FAILs saying float32."""
    line, got = one_line(checks.check_analytic_gradient, float32_gradient, capsys)
    assert line.startswith("check_analytic_gradient: PASS") and "Note: your result is float32" in line, line
    assert got is float32_gradient
    line, _ = one_line(checks.check_cost, lambda *a: np.float32(cflib.cost(*a)), capsys)
    assert line.startswith("check_cost: PASS") and "float32, compared at float32 precision" in line, line
    line, _ = one_line(checks.check_rmse, lambda p, a: np.float32(2 * ref_rmse(p, a)), capsys)
    assert line.startswith("check_rmse: FAIL") and "Note: your result is float32" in line, line
    line, _ = one_line(checks.check_rmse, ref_rmse, capsys)
    assert "float32" not in line


# ---------------------------------------------- a shape error names its own line
def gradient_with_e_at_x(X, Theta, Y, R, lam=0.0):
    E = np.where(R, X @ Theta.T - Y, 0)
    return E @ Theta + lam * X, E @ X + lam * Theta


def test_a_shape_error_hint_names_the_line_and_its_shapes_not_the_predictions(capsys):
    line, _ = one_line(checks.check_analytic_gradient, gradient_with_e_at_x, capsys)
    assert "it raised ValueError: matmul" in line, line
    assert "Hint: the shapes do not fit in `return E @ Theta + lam * X, E @ X + lam * Theta`, where E is (3, 2), " \
           "Theta is (2, 2), X is (3, 2)" in line, line
    assert "predictions are X @ Theta.T" not in line
