"""``python -m cflib.grade``: the same as ``cflib-grade``."""

from .cli import main

raise SystemExit(main())
