"""Moved: the checks of arguments are :mod:`cflib.arguments`.

``cflib.validation`` was also the name of ``fit``'s argument for validation
ratings; the module took a name of its own. This old name still imports, with
a ``DeprecationWarning``, for one release.
"""

import warnings

from .arguments import *  # noqa: F401,F403 - the moved names, for one release
from .arguments import __all__  # noqa: F401

warnings.warn("cflib.validation has moved to cflib.arguments; import from cflib.arguments instead",
              DeprecationWarning, stacklevel=2)
