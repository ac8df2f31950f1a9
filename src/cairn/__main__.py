"""`python -m cairn`."""

import sys

from .cli import main

sys.exit(main())
