"""``python -m app``: the ``propylon`` command."""
import sys

from app.cli import main

sys.exit(main())
