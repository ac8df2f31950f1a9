"""Cairn: runbooks that learn, and a maintainer bot, on one local-first core.

The package is layered bottom up (see DESIGN.md): `notebook` and `kernel` are the
first floor; `cli` sits on top and holds no logic of its own.
"""

__version__ = "0.1.0"
