"""`python -m cairn.cli`."""

import sys

from . import main

sys.exit(main())
