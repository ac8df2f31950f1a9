"""What stays private: the one redaction choke point, and owner-only files.

Everything Cairn persists or sends to a model passes through `redact`/`Redactor`: learning
events (`cairn.learnlog`), text written to the store from outside (docs, learned
examples), debug records of model calls (`cairn.llm.recorder`) and every request a model
provider receives (`cairn.llm`). Secrets a session's cells export are registered once with
`add_secret_values` and are then known to every redactor of the process.

Files and directories under the config dir, stores and their lock dirs are the owner's
alone: `private_dir` and `private_file`.

This package is the bottom layer: it imports nothing else of Cairn.
"""

from __future__ import annotations

from ._files import DIR_MODE, FILE_MODE, private_dir, private_file, tighten
from ._redact import (
    MIN_ENV_SECRET_LEN,
    MIN_SECRET_LEN,
    PLACEHOLDER,
    Redactor,
    add_secret_values,
    base64_copies,
    default_redactor,
    is_secret_name,
    looks_random,
    redact,
    redact_data,
    redact_patterns,
    secret_env_values,
)

__all__ = [
    "DIR_MODE",
    "FILE_MODE",
    "MIN_ENV_SECRET_LEN",
    "MIN_SECRET_LEN",
    "PLACEHOLDER",
    "Redactor",
    "add_secret_values",
    "base64_copies",
    "default_redactor",
    "is_secret_name",
    "looks_random",
    "private_dir",
    "private_file",
    "redact",
    "redact_data",
    "redact_patterns",
    "secret_env_values",
    "tighten",
]
