"""What a server is started with, and the browser origins it trusts."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8787
DEFAULT_MAX_EXECUTIONS = 8
DEFAULT_MAX_BODY_MB = 64  # a notebook with its outputs; larger bodies get 413
_WILDCARDS = frozenset({"", "0.0.0.0", "::", "[::]"})


@dataclass(frozen=True)
class ServerConfig:
    """One server: the runbooks' root, its token, where it listens and its limits."""

    root: Path  # file paths in the API are relative to it and may not leave it
    token: str
    host: str = DEFAULT_HOST
    port: int = DEFAULT_PORT
    max_executions: int = DEFAULT_MAX_EXECUTIONS  # running at once; more get 429
    max_sessions: int = 256  # idle sessions kept; the least recently used go first
    max_body_bytes: int = DEFAULT_MAX_BODY_MB << 20  # request bodies; larger get 413
    learning_logs: bool = True  # only reported: the caller opens the learning log
    config_dir: Path | None = None  # cairn.toml (models) and logs/ (outputs for suggestions)
    cell_env: dict[str, str] | None = None  # the cells' environment (None: the server's)
    model: str | None = None  # provider:model for suggestions (None: cairn.toml, else local)
    learn: bool = False  # analyze the learning log and learn examples in the background
    store: str | None = None  # where examples are kept (None: <config_dir>/cairn.db)
    learn_interval: float = 2.0  # seconds between learning passes
    embedder: str | None = None  # "local" or "hash" (None: the one the examples have)
    prefill: bool = False  # after a run, evaluate the next suggestion's prompt (local model)
    bot: bool = False  # run the maintainer bot: webhooks trigger passes, [bot] every polls

    def store_url(self) -> str | None:
        """The store of learned examples; None without a config dir or store."""
        if self.store is not None:
            return self.store
        return None if self.config_dir is None else str(self.config_dir / "cairn.db")

    def allowed_origins(self) -> frozenset[str]:
        """Browser origins allowed to open the execute WebSocket (DNS-rebinding defence).

        Only pages served from this very address may connect; a page on any other origin
        (including one whose name an attacker re-points at 127.0.0.1) is refused.
        """
        hosts = {"127.0.0.1", "localhost", "[::1]"}
        if self.host not in _WILDCARDS:
            hosts.add(f"[{self.host}]" if ":" in self.host else self.host.lower())
        return frozenset(
            f"{scheme}://{host}:{self.port}" for scheme in ("http", "https") for host in hosts
        )
