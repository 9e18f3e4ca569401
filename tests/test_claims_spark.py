"""Numbers in notebook 12's prose that are not printed right above them, recomputed.

The ml-1m, ml-10m and ml-25m figures the notebook quotes come from recorded
benchmark runs (too slow for nbval): these tests check that each quoted figure is
the one recorded in ``benchmarks/README.md``, and recompute the arithmetic of the
answers.
"""

import json
import os
import re
from pathlib import Path

import numpy as np
import pytest

import cflib
from cflib.train import COURSE

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOK = ROOT / "notebooks" / "12_spark.ipynb"
README = ROOT / "benchmarks" / "README.md"
REG = 0.15


def _markdown() -> str:
    cells = json.loads(NOTEBOOK.read_text())["cells"]
    return "\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "markdown")


def _spark_rows() -> dict:
    """The table rows of the README's Spark section: {data: [cells]}."""
    text = README.read_text()
    section = text[text.index("## Spark MLlib's ALS against cflib"):]
    rows = {}
    for line in section.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 12 and cells[0] in ("u1", "u2", "u3", "u4", "u5", "ml-1m", "ml-10m"):
            rows[cells[0]] = cells
    return rows


def test_ml10m_figures_are_the_recorded_ones():
    md = _markdown()
    row = _spark_rows()["ml-10m"]
    quoted = re.search(r"cflib ([\d.]+) s per iteration, Spark ([\d.]+) s, after ([\d.]+) s", md)
    assert quoted, "the ml-10m sentence changed: update this test"
    recorded = (row[3], row[4], row[6].removesuffix(" s"))
    for got, rec in zip(quoted.groups(), recorded):  # quoted to the precision written in the prose
        digits = len(got.split(".")[1])
        assert got == f"{float(rec):.{digits}f}", (got, rec)
    python_all, jvm = row[11].split(" + ")
    assert f"{row[10]} for cflib's process after its fit" in md
    # the Python peak after everything includes cflib's own fit: the copy raises it from one figure to the other
    assert f"Spark's JVM reached {jvm}, and the copy into Spark raised the Python process's peak from " \
           f"{row[10].removesuffix(' MiB')} to {python_all}" in md
    assert row[2] == "5" and "(`benchmarks/README.md`, 5 iterations" in md


def test_ratios_quoted_in_prose_are_the_recorded_ones():
    rows = _spark_rows()
    md = _markdown()
    for data, where in (("u1", "on ml-100k"), ("ml-1m", "at the ml-1m shape"), ("ml-10m", "here")):
        assert f"{rows[data][5]} {where}" in md, (data, rows[data][5])
    # the u1 ratio is also the median ratio over the five folds, as the README's summary line says
    ratios = [float(rows[f][4]) / float(rows[f][3]) for f in ("u1", "u2", "u3", "u4", "u5")]
    assert f"{rows['u1'][5]} on ml-100k" in md
    assert np.median([float(rows[f][4]) for f in ("u1", "u2", "u3", "u4", "u5")]) == pytest.approx(float(rows["u1"][4]))
    assert min(ratios) > 10  # Spark slower on every fold


def test_ml1m_rmse_after_20_sweeps_is_the_recorded_one():
    row = _spark_rows()["ml-1m"]
    assert row[2] == "20"
    assert f"recorded test RMSE {row[7]} for cflib and {row[8]} for Spark" in _markdown()
    assert abs(float(row[7]) - float(row[8])) <= 0.003


def test_ml25m_time_per_iteration_is_the_recorded_one():
    assert "cflib's ALS took 14 s per iteration at the ml-25m shape" in _markdown()
    m = re.search(r"Median time per iteration: ([\d.]+) s", README.read_text())
    assert m and round(float(m.group(1))) == 14


def test_exercise_2_break_even_count(movielens):
    """'They agree for the users with rho n_j = lambda, here n_j = 8 / 0.15 ~ 53 ratings', and u1 has users on both sides."""
    assert COURSE["lam"] == 8.0 and "\\lambda = 8" in _markdown()
    n_even = COURSE["lam"] / REG
    assert round(n_even) == 53 and "8 / 0.15 \\approx 53" in _markdown()
    train, _ = cflib.load_split("u1", download=False)
    n_u = np.bincount(train.users, minlength=train.n_users)
    assert n_u.min() < n_even < n_u.max()


def test_cold_start_pairs_are_unseen_movies(movielens):
    """The notebook prints '(movie unseen in training)' for the dropped pairs: no test user is unseen on u1..u5."""
    for fold in ("u1", "u2", "u3", "u4", "u5"):
        train, test = cflib.load_split(fold, download=False)
        seen_u = np.bincount(train.users, minlength=train.n_users) > 0
        seen_m = np.bincount(train.movies, minlength=train.n_movies) > 0
        assert seen_u[test.users].all()
        assert 27 <= int((~seen_m[test.movies]).sum()) <= 36


def _stored_stdout(marker: str) -> str:
    """The stored stdout of the one code cell of notebook 12 whose source contains ``marker``."""
    cells = [c for c in json.loads(NOTEBOOK.read_text())["cells"]
             if c["cell_type"] == "code" and marker in "".join(c["source"])]
    assert len(cells) == 1, marker
    return "".join("".join(o.get("text", "")) for o in cells[0]["outputs"] if o.get("output_type") == "stream")


def test_best_beats_spark_and_spark_beats_course_on_every_fold():
    """Section 3: 'BEST beats Spark's ALS on every fold, and COURSE is behind Spark's ALS on every fold'
    (read from the stored output of the comparison cell); and the presets are the models the prose names."""
    text = _stored_stdout('results["cflib COURSE"].append')
    table = {}
    for line in text.splitlines():
        numbers = re.findall(r"\d\.\d{4}", line)
        assert len(numbers) == 6, line
        table[line[:36].strip()] = [float(v) for v in numbers[:5]]
    best, spark, course = table["cflib BEST"], table["Spark ALS (rank 10, regParam 0.15)"], table["cflib COURSE"]
    assert all(b < s < c for b, s, c in zip(best, spark, course))
    assert COURSE["kind"] == "normalized" and COURSE["k"] == 5  # "the movie means but no user biases, 5 features"


def test_spark_and_cflib_als_wr_within_0_003_on_every_fold():
    """Section 4 and the summary: cflib's ALS-WR 'reaches Spark's RMSE on every fold (within 0.003)'."""
    text = _stored_stdout("fit_als_wr(splits[f][0]")
    rows = re.findall(r"(u\d): Spark (\d\.\d{5})  cflib ALS-WR (\d\.\d{5})  difference ([+-]\d\.\d{5})", text)
    assert len(rows) == 5
    assert all(abs(float(a) - float(b)) <= 0.003 for _, a, b, _ in rows)
    # the difference printed is that of the two numbers printed (to the last digit shown)
    assert all(abs(float(b) - float(a) - float(d)) <= 1.1e-5 for _, a, b, d in rows)


def test_u1_test_users_have_the_fewest_training_ratings():
    """Section 4: u1 is hardest for every model, its test users 'with fewer training ratings behind a test rating
    on average (printed above: 71 per test user on u1, 80 to 86 on the other folds)'."""
    text = _stored_stdout("fit_als_wr(splits[f][0]")
    (line,) = [x for x in text.splitlines() if x.startswith("training ratings per test user, on average:")]
    per_user = dict(re.findall(r"(u\d) (\d+)", line))
    others = [int(per_user[f]) for f in ("u2", "u3", "u4", "u5")]
    assert per_user["u1"] == "71" and (min(others), max(others)) == (80, 86)
    assert int(per_user["u1"]) < min(int(v) for f, v in per_user.items() if f != "u1")
    md = "\n".join("".join(c["source"]) for c in json.loads(NOTEBOOK.read_text())["cells"] if c["cell_type"] == "markdown")
    assert "(printed above: 71 per test user on u1, 80 to 86 on the other folds)" in md


@pytest.mark.spark
def test_spark_als_checkpoints_at_the_first_iteration_and_every_10th(spark, tmp_path):
    """Sections 1 and 5: 'at the first iteration and every 10th after it the lineage is checkpointed to disk
    (once within the 5 iterations timed above)': Spark's default interval, which cspark.fit_spark_als leaves
    alone, counts from iteration 0, so even a one-iteration fit writes a checkpoint."""
    import inspect

    from pyspark.ml.recommendation import ALS

    from cflib import spark as cspark

    assert ALS().getCheckpointInterval() == 10
    assert "checkpointInterval" not in inspect.getsource(cspark.fit_spark_als)
    cells = json.loads(NOTEBOOK.read_text())["cells"]
    assert "n_scale = 5" in "".join("".join(c["source"]) for c in cells)
    md = "\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "markdown")
    assert "at the first iteration and every 10th after it the lineage is checkpointed to disk" in md
    assert "(once within the 5 iterations timed above)" in md
    sc = spark.sparkContext
    before = sc._jsc.sc().getCheckpointDir().get()
    sc.setCheckpointDir(str(tmp_path))
    try:
        rng = np.random.default_rng(0)
        rows = [(int(u), int(i), float(r)) for u, i, r in
                zip(rng.integers(0, 60, 800), rng.integers(0, 40, 800), rng.integers(1, 6, 800))]
        df = spark.createDataFrame(rows, ["user", "item", "rating"]).dropDuplicates(["user", "item"])
        ALS(rank=3, maxIter=1, regParam=0.1, userCol="user", itemCol="item", ratingCol="rating", seed=0).fit(df)
        written = [f for _, _, files in os.walk(tmp_path) for f in files if f.startswith("part-")]
        assert written, "a one-iteration ALS fit wrote no checkpoint"
    finally:
        sc.setCheckpointDir(before)


def test_top10_lists_keep_the_rmse_order_and_none_reaches_popularity():
    """Section 3, the top-10 lists: 'BEST first, Spark's ALS second and COURSE last, and none of them reaches the
    popularity list'; 'Spark's ALS lists more obscure movies than BEST (the higher novelty), though far fewer hits'."""
    text = _stored_stdout("cflib.ranking_metrics(model, train, test, k=10)")
    rows = {}
    for line in text.splitlines()[1:]:
        numbers = re.findall(r"\d+\.\d+", line[36:])
        assert len(numbers) == 4, line
        rows[line[:36].strip()] = dict(zip(("p", "ndcg", "coverage", "novelty"), map(float, numbers)))
    best, spark, course = rows["cflib BEST"], rows["Spark ALS (rank 10, regParam 0.15)"], rows["cflib COURSE"]
    popular = rows["popularity (training ratings)"]
    for metric in ("p", "ndcg"):
        assert best[metric] > spark[metric] > course[metric]
        assert popular[metric] > max(best[metric], spark[metric], course[metric])
    assert spark["novelty"] > best["novelty"] and spark["p"] < 0.5 * best["p"]


def test_u1_test_users_are_users_0_to_461(movielens):
    """Sections 2-4: 'u1's test ratings all come from users 0-461 (459 of the 943), ... u5's come from 927 users',
    as the per-fold lines print; the top-10 lists and the figure's label say the same."""
    md = _markdown()
    text = _stored_stdout("cspark.drop_cold_start(test, train)")
    for fold in ("u1", "u2", "u3", "u4", "u5"):
        train, test = cflib.load_split(fold, download=False)
        users = np.unique(test.users)
        assert f"{fold}: {test.nnz} test ratings of {users.size} users ({users.min()}-{users.max()})" in text
        assert train.n_users == 943
        if fold == "u1":
            assert (users.size, users.min(), users.max()) == (459, 0, 461)
            assert "u1's test ratings all come from users 0-461 (459 of the 943)" in md
            assert "on u1, so for its test users 0-461 only" in md
        if fold == "u5":
            assert users.size == 927 and "u5's come from 927 users" in md


def test_every_model_does_worst_on_u1():
    """After the figure: 'Every model does worst on u1' (the stored RMSE of the four models, fold by fold)."""
    assert "Every model does worst on u1" in _markdown()
    rows = []
    for line in _stored_stdout('results["cflib COURSE"].append').splitlines():
        rows.append([float(v) for v in re.findall(r"\d\.\d{4}", line)[:5]])
    rows.append([float(b) for _, _, b in re.findall(r"(u\d): Spark (\d\.\d{5})  cflib ALS-WR (\d\.\d{5})",
                                                     _stored_stdout("fit_als_wr(splits[f][0]"))])
    assert len(rows) == 4
    for values in rows:
        assert len(values) == 5 and int(np.argmax(values)) == 0, values


def test_one_session_per_process_prose_matches_start_session():
    """Section 1: 'with other settings it refuses ... or pass `restart=True`' and errors reach you as `SparkJVMError`."""
    import inspect

    from cflib import spark as cspark

    md = _markdown()
    assert "pass `restart=True`" in md and "`SparkJVMError`" in md
    assert inspect.signature(cspark.start_session).parameters["restart"].default is False
    assert issubclass(cspark.SparkJVMError, RuntimeError)
