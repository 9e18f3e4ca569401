# Thin wrappers only. The two commands a newcomer needs:
#   make lab    create .venv, install, fetch MovieLens once, open JupyterLab on the contents page
#   make test   create .venv, install with test extras, run unit tests + nbval over every notebook
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
NOTEBOOKS := $(sort $(wildcard notebooks/[0-9][0-9]_*.ipynb)) notebooks/index.ipynb
PYTEST_ARGS ?=
LAB_ARGS ?=
# The course's JupyterLab defaults (no news pop-up), from the repository: jupyter-config/README.md
LAB_SETTINGS := --LabApp.app_settings_dir=$(CURDIR)/jupyter-config/lab/settings
# As root (a Docker container, many cloud notebooks) Jupyter refuses to start without --allow-root.
USER_ID ?= $(shell id -u 2>/dev/null)
ROOT_ARGS := $(if $(filter 0,$(USER_ID)),--allow-root,)
# setuptools prints a banner on every editable install ("Please be careful with folders in your
# working directory..."), a UserWarning from its build step: hidden for that one command only.
QUIET_BUILD := PYTHONWARNINGS=ignore::UserWarning

.PHONY: lab test test-min data exercises navigation benchmark clean grade sample-report

$(VENV)/.installed: pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(QUIET_BUILD) $(PY) -m pip install --quiet -e .
	touch $@

$(VENV)/.installed-dev: pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(QUIET_BUILD) $(PY) -m pip install --quiet -e ".[dev,spark]"
	touch $@ $(VENV)/.installed

data: $(VENV)/.installed
	$(PY) -m cflib.datasets

lab: data
	$(if $(ROOT_ARGS),@echo "make lab: running as root (a container?): JupyterLab gets --allow-root")
	$(PY) -m jupyter lab $(LAB_SETTINGS) $(ROOT_ARGS) notebooks/index.ipynb $(LAB_ARGS)

test: $(VENV)/.installed-dev
	$(PY) -m pytest -n 2 --dist loadfile tests $(NOTEBOOKS) \
		--nbval --nbval-current-env --nbval-sanitize-with tests/nbval_sanitize.cfg \
		--ignore-glob='tests/fixtures/*' $(PYTEST_ARGS)

# The unit tests at the lowest versions pyproject.toml declares (.ci/min-versions.txt), in a venv of
# their own: not nbval (stored outputs may differ in the last digit), Spark, the browser, the notebooks'
# runs or packaging, which need the current tool chain.
MIN_VENV ?= .venv-min
MIN_SKIP := --ignore=tests/test_browser.py --ignore=tests/test_browser_report.py --ignore=tests/test_exercises.py \
	--ignore=tests/test_nbgrader.py --ignore=tests/test_packaging.py --ignore=tests/test_benchmarks.py \
	--ignore=tests/test_colab.py -m "not spark and not browser"
test-min: .ci/min-versions.txt pyproject.toml
	test -x $(MIN_VENV)/bin/python || $(PYTHON) -m venv $(MIN_VENV)
	$(MIN_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(MIN_VENV)/bin/python -m pip install --quiet --only-binary=:all: -r .ci/min-versions.txt \
		"pytest>=7.4" "pytest-xdist>=3.3" "hypothesis>=6.80" "nbformat>=5.9" "pyyaml>=6.0"
	$(QUIET_BUILD) $(MIN_VENV)/bin/python -m pip install --quiet --no-deps -e .
	$(MIN_VENV)/bin/python -m pytest -n 2 --dist loadfile tests $(MIN_SKIP) --ignore-glob='tests/fixtures/*' $(PYTEST_ARGS)

exercises: navigation
	$(PY) tools/make_exercises.py
	$(PY) -m cflib.grade.course notebooks

# The classroom grader (README, "For teachers"): make grade SUBMISSIONS="folder ..." [OUT=graded] [JOBS=2]
SUBMISSIONS ?=
OUT ?= graded
JOBS ?= 2
grade: $(VENV)/.installed
	@test -n "$(SUBMISSIONS)" || { echo 'make grade: give SUBMISSIONS="folder-or-notebooks ..."' >&2; exit 2; }
	$(PY) -m cflib.grade $(SUBMISSIONS) --out $(OUT) --jobs $(JOBS)

# A report.html to look at before a class hands anything in: a synthetic class of 30, graded.
sample-report: $(VENV)/.installed-dev
	rm -rf build/sample-class
	$(PY) tools/synthetic_class.py build/sample-class/submissions --students 30
	$(PY) -m cflib.grade build/sample-class/submissions --out build/sample-class/graded --jobs 2 --time-limit 5
	@echo "open build/sample-class/graded/report.html"

navigation: $(VENV)/.installed
	$(PY) tools/navigation.py

benchmark: $(VENV)/.installed-dev
	$(PY) -m pip install --quiet -e ".[bench]"
	$(PY) benchmarks/bench_cost.py
	$(PY) benchmarks/bench_training.py
	$(PY) benchmarks/bench_scale.py
	$(PY) benchmarks/bench_ranking.py
	$(PY) benchmarks/bench_gibbs.py
	$(PY) benchmarks/bench_spark.py
	$(PY) benchmarks/bench_grade.py

clean:
	rm -rf $(VENV) $(MIN_VENV) .pytest_cache screenshots build
