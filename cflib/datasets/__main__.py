"""``python -m cflib.datasets [--name 100k] [--data-dir DIR] ...``: fetch MovieLens once."""

import sys

from .cli import main

sys.exit(main())
