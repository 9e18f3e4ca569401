"""Moved: the data code is :mod:`cflib.datasets` (``python -m cflib.datasets``).

``python -m cflib.data`` still fetches MovieLens, after a one-line note, for
this release only; ``from cflib.data import X`` still works for the names
:mod:`cflib.datasets` exports, with a ``DeprecationWarning``.
"""

import sys
import warnings

from .datasets import *  # noqa: F401,F403 - the moved names, for one release
from .datasets import __all__  # noqa: F401

if __name__ == "__main__":
    from .datasets.cli import main

    print("note: `python -m cflib.data` has moved to `python -m cflib.datasets`; "
          "this old name works for one more release.", file=sys.stderr)
    sys.exit(main())
else:
    warnings.warn("cflib.data has moved to cflib.datasets; import from cflib.datasets "
                  "(or cflib) instead", DeprecationWarning, stacklevel=2)
