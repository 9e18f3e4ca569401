"""Links from one notebook to a section of another (``05_training.ipynb#4.-Methods-...``) land on a heading.

JupyterLab gives each rendered heading the id "its text with every space replaced by '-'"
(``createHeaderId`` in ``@jupyterlab/rendermime``), and nbconvert's HTML does the same. A renamed
heading would leave such a link pointing at the top of the notebook without any error, so the
anchors are checked here, for the solution notebooks and for the student copies (whose links
``make exercises`` rewrites).
"""

import json
import re
from pathlib import Path

import pytest

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"
LINK = re.compile(r"\]\((\d\d_\w+\.ipynb)#([^)\s]+)\)")
HEADING = re.compile(r"^#{1,6}\s+(.+?)\s*#*\s*$", re.M)


def _markdown(path):
    cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
    return ["".join(c["source"]) for c in cells if c["cell_type"] == "markdown"]


def header_id(heading):
    """JupyterLab's id for a markdown heading: its rendered text, spaces replaced by '-'.

    Emphasis and code marks do not reach the rendered text; math does, but as typeset
    symbols, so a heading with ``$`` cannot be linked reliably and gets no id here.
    """
    if "$" in heading:
        return None
    text = re.sub(r"[*`]", "", heading)
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", text)
    return text.replace(" ", "-")


def anchors(path):
    return {header_id(h) for text in _markdown(path) for h in HEADING.findall(text)} - {None}


def test_header_id_follows_jupyterlab():
    assert header_id("4. Methods without a step size: L-BFGS and ALS") == "4.-Methods-without-a-step-size:-L-BFGS-and-ALS"
    assert header_id("1. Training is minimizing $J$") is None
    assert header_id("Biases and `lam_bias`") == "Biases-and-lam_bias"


@pytest.mark.parametrize("folder", [NOTEBOOKS, NOTEBOOKS / "exercises"], ids=["solutions", "exercises"])
def test_section_links_land_on_a_heading(folder):
    found = 0
    for path in sorted(folder.glob("[0-9][0-9]_*.ipynb")):
        for text in _markdown(path):
            for target, anchor in LINK.findall(text):
                found += 1
                assert (folder / target).exists(), f"{path.name} links to {target}, which does not exist"
                assert anchor in anchors(folder / target), (
                    f"{path.name} links to {target}#{anchor}, but {target} has no such heading; "
                    f"its headings give {sorted(anchors(folder / target))}")
    assert found >= 5  # 07 and 08 link to the headings of 05 that define their terms


@pytest.mark.parametrize("name, terms", [
    ("07_recommendations.ipynb", {"half-step": "05_training.ipynb#ALS-and-its-half-step"}),
    ("08_explorer.ipynb", {"half-step": "05_training.ipynb#ALS-and-its-half-step",
                           "saddle point": "05_training.ipynb#Saddle-points", "momentum": "05_training.ipynb#Momentum",
                           "L-BFGS": "05_training.ipynb#L-BFGS", "lam_bias": "05_training.ipynb#Biases-and-lam_bias"}),
])
def test_terms_from_05_link_to_where_they_are_defined(name, terms):
    text = "\n".join(_markdown(NOTEBOOKS / name))
    for term, target in terms.items():
        # the term and a link into the defining section share a sentence
        sentences = [s for s in re.split(r"(?<=[.:;])\s", text) if term in s]
        assert any(f"]({target}" in s for s in sentences), f"{name}: '{term}' is never linked to {target}..."
