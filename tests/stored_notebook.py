"""Read a solution notebook's stored prose and printed outputs, for the claims tests."""

import json
import re
from pathlib import Path


class StoredNotebook:
    """The cells of one notebook as stored (nbval keeps its outputs equal to a fresh run)."""

    def __init__(self, path: Path):
        self.path = Path(path)

    def cells(self) -> list:
        return json.loads(self.path.read_text(encoding="utf-8"))["cells"]

    def prose(self) -> str:
        """Every markdown cell, joined."""
        return "\n".join("".join(c["source"]) for c in self.cells() if c["cell_type"] == "markdown")

    def printed(self, marker: str, *, anywhere: bool = False) -> str:
        """The text printed by the one code cell whose source starts with ``marker`` (or holds it, ``anywhere``)."""
        def found(src):
            return marker in src if anywhere else src.startswith(marker)

        (cell,) = [c for c in self.cells() if c["cell_type"] == "code" and found("".join(c["source"]))]
        return "".join("".join(o.get("text", "")) for o in cell["outputs"])


def numbers(text: str) -> list:
    """The decimal numbers in ``text`` (with a sign and an exponent when written), in order."""
    return [float(v) for v in re.findall(r"[-+]?\d+\.\d+(?:e[-+]\d+)?", text)]
