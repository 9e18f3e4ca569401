"""The project's set-up files agree with each other and with the README."""

import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib

ROOT = Path(__file__).resolve().parent.parent


def _name(requirement: str) -> str:
    """Package name of a requirement string, normalised ('threadpoolctl>=3.1' -> 'threadpoolctl')."""
    return re.split(r"[\s<>=!~;\[]", requirement.strip(), maxsplit=1)[0].lower().replace("_", "-")


def _pyproject():
    return tomllib.loads((ROOT / "pyproject.toml").read_text())


def test_environment_yml_mirrors_pyproject_dependencies():
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    assert "conda-forge" in env["channels"]
    conda, pip = [], []
    for dep in env["dependencies"]:
        if isinstance(dep, dict):
            pip.extend(dep["pip"])
        else:
            conda.append(dep)
    # The core dependencies plus the `spark` extra (notebook 12) and the Java it needs.
    outside = {"python", "pip", "openjdk"}
    conda_names = {_name(d) for d in conda} - outside
    py_deps = _pyproject()["project"]["dependencies"] + _pyproject()["project"]["optional-dependencies"]["spark"]
    assert conda_names == {_name(d) for d in py_deps}
    # Same bounds, so conda and pip users get compatible versions.
    assert sorted(d.replace(" ", "") for d in conda if _name(d) not in outside) == sorted(
        d.replace(" ", "") for d in py_deps
    )
    assert "openjdk>=17" in conda, "Spark 4 needs Java 17 or newer"
    assert "-e ." in pip


def test_python_version_floor_agrees():
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    assert "python>=3.10" in env["dependencies"]
    assert _pyproject()["project"]["requires-python"] == ">=3.10"


def test_dev_extra_has_the_test_tools():
    dev = {_name(d) for d in _pyproject()["project"]["optional-dependencies"]["dev"]}
    assert {"pytest", "nbval", "hypothesis", "pytest-xdist"} <= dev


def test_readme_gives_exactly_two_setup_commands():
    readme = (ROOT / "README.md").read_text()
    block = re.search(r"<!-- setup-commands -->\s*```(?:bash|sh)?\n(.*?)```", readme, re.S)
    assert block, "README must have the set-up commands block"
    commands = [line for line in block.group(1).splitlines() if line.strip() and not line.startswith("#")]
    assert commands == ["make lab", "make test"]
    makefile = (ROOT / "Makefile").read_text()
    assert re.search(r"^lab:", makefile, re.M) and re.search(r"^test:", makefile, re.M)


def test_ci_runs_the_readme_test_command_and_fails_on_no_tests():
    ci = (ROOT / ".ci" / "run").read_text()
    assert "make test" in ci
    assert "CFLIB_DATA_DIR" in ci and "shared/data" in ci
    assert "exit code 5" in ci
    assert "make test-min" in ci, "CI runs the unit tests at the declared minimum versions too"


def test_no_movielens_file_is_tracked():
    out = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True)
    if out.returncode != 0:
        pytest.skip("not a git checkout")
    forbidden = re.compile(r"(^|/)(u\.data|u\.item|u\.user|u[1-5a-b]\.(base|test)|ratings\.(dat|csv)|ml-\S+\.zip)$")
    tracked = [f for f in out.stdout.splitlines() if forbidden.search(f)]
    assert tracked == [], f"MovieLens files must never be committed: {tracked}"


def test_package_imports_without_optional_extras():
    code = "import cflib, sys; assert 'surprise' not in sys.modules; print(cflib.__version__)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr


def test_license_is_an_spdx_expression_with_its_file():
    project = _pyproject()["project"]
    assert project["license"] == "MIT"
    assert project["license-files"] == ["LICENSE"]
    assert (ROOT / "LICENSE").read_text().startswith("MIT License")
    # SPDX strings need setuptools 77 (PEP 639); an older one rejects the file.
    requires = _pyproject()["build-system"]["requires"]
    assert any(_name(r) == "setuptools" and ">=77" in r.replace(" ", "") for r in requires)


def test_building_the_wheel_prints_no_deprecation_warning(tmp_path):
    """Build as pip install does (isolated, with the setuptools pyproject asks for), verbosely."""
    import os
    import shutil
    import zipfile

    src = tmp_path / "src"
    src.mkdir()
    for name in ("pyproject.toml", "README.md", "LICENSE"):
        shutil.copy(ROOT / name, src / name)
    shutil.copytree(ROOT / "cflib", src / "cflib", ignore=shutil.ignore_patterns("__pycache__"))
    out = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--disable-pip-version-check", "-v",
         "-w", str(tmp_path / "dist"), str(src)],
        capture_output=True, text=True, timeout=600,
    )
    log = out.stdout + out.stderr
    if out.returncode != 0 and "satisfies the requirement setuptools" in log and not os.environ.get("CI"):
        pytest.skip("the package index cannot be reached to fetch the build backend")
    assert out.returncode == 0, log[-3000:]
    assert "deprecat" not in log.lower(), [line for line in log.splitlines() if "eprecat" in line]
    wheel = next((tmp_path / "dist").glob("cflib-*.whl"))
    with zipfile.ZipFile(wheel) as zf:
        meta = zf.read(next(n for n in zf.namelist() if n.endswith(".dist-info/METADATA"))).decode()
        assert any(n.endswith("licenses/LICENSE") for n in zf.namelist())
    assert "License-Expression: MIT" in meta.splitlines()
    assert "License-File: LICENSE" in meta.splitlines()


def _make_dry_run(*args):
    """What `make ARGS` would run (make -n runs nothing), as lines."""
    import shutil

    if shutil.which("make") is None:
        pytest.skip("make is not installed")
    out = subprocess.run(["make", "-n", *args], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    return out.stdout.splitlines()


def _make_lab_command(*args):
    """The `jupyter lab ...` command of `make lab`, as make would run it."""
    import shlex

    lines = [line for line in _make_dry_run("lab", *args) if " -m jupyter lab" in line]
    assert len(lines) == 1, lines
    return shlex.split(lines[0])


def test_make_lab_allows_root_only_as_root():
    """Jupyter refuses to run as root without --allow-root: make lab passes it then, with a notice."""
    import os

    assert "--allow-root" in _make_lab_command("USER_ID=0")
    assert any("running as root" in line for line in _make_dry_run("lab", "USER_ID=0"))
    assert "--allow-root" not in _make_lab_command("USER_ID=1000")
    assert not any("allow-root" in line or "running as root" in line
                   for line in _make_dry_run("lab", "USER_ID=1000"))
    assert ("--allow-root" in _make_lab_command()) == (os.geteuid() == 0)


def test_editable_install_prints_no_banner(tmp_path):
    """make's install command, run as make would (no dependencies: they are not what is tested),
    prints nothing but pip's own lines: no setuptools banner about folders in the working directory."""
    import os
    import shutil

    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=300)
    lines = [line for line in _make_dry_run("-B", f"VENV={venv}", f"{venv}/.installed")
             if "pip install --quiet -e ." in line]
    assert len(lines) == 1, lines
    src = tmp_path / "src"
    src.mkdir()
    for name in ("pyproject.toml", "README.md", "LICENSE"):
        shutil.copy(ROOT / name, src / name)
    shutil.copytree(ROOT / "cflib", src / "cflib", ignore=shutil.ignore_patterns("__pycache__"))
    out = subprocess.run(lines[0] + " --no-deps --disable-pip-version-check", shell=True, cwd=src,
                         capture_output=True, text=True, timeout=600)
    log = out.stdout + out.stderr
    if out.returncode != 0 and "satisfies the requirement setuptools" in log and not os.environ.get("CI"):
        pytest.skip("the package index cannot be reached to fetch the build backend")
    assert out.returncode == 0, log[-3000:]
    assert "Please be careful" not in log and "!!" not in log, log


def test_make_lab_starts_a_lab_that_does_not_ask_about_news(tmp_path):
    """Start the lab `make lab` starts (no browser), and read the settings it resolves."""
    import json
    import os
    import socket
    import time
    import urllib.request

    argv = _make_lab_command()
    assert argv[1:4] == ["-m", "jupyter", "lab"]
    settings = [a for a in argv if a.startswith("--LabApp.app_settings_dir=")]
    assert settings and Path(settings[0].split("=", 1)[1]).is_relative_to(ROOT)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    # The user's own folders are empty temporary ones: only the repository's config counts.
    env = {**os.environ, "JUPYTER_CONFIG_DIR": str(tmp_path / "config"),
           "JUPYTERLAB_SETTINGS_DIR": str(tmp_path / "user-settings"),
           "JUPYTERLAB_WORKSPACES_DIR": str(tmp_path / "workspaces"),
           "JUPYTER_RUNTIME_DIR": str(tmp_path / "runtime")}
    cmd = [sys.executable, "-m", "jupyter", "lab", *settings, "--no-browser", "--allow-root",
           f"--port={port}", "--ServerApp.ip=127.0.0.1", "--IdentityProvider.token=",
           "--ServerApp.port_retries=0", f"--ServerApp.root_dir={ROOT}"]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    url = f"http://127.0.0.1:{port}/lab/api/settings/@jupyterlab/apputils-extension:notification"
    try:
        body, deadline = None, time.monotonic() + 90
        while body is None:
            assert proc.poll() is None, proc.stderr.read().decode()[-3000:]
            assert time.monotonic() < deadline, "JupyterLab did not start within 90 s"
            try:
                with urllib.request.urlopen(url, timeout=5) as r:
                    body = json.loads(r.read())
            except OSError:
                time.sleep(0.5)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    props = body["schema"]["properties"]
    # "none" would ask the news question at the first start; "false" never asks and never fetches.
    assert props["fetchNews"]["default"] == "false"
    assert props["checkForUpdates"]["default"] is False
    assert body["settings"].get("fetchNews", props["fetchNews"]["default"]) == "false"
