"""A throwaway PostgreSQL server from Debian's binaries, for tests and benchmarks.

It owns its data directory and port on 127.0.0.1 and never touches the system's own
cluster. Failures raise `PostgresServerError`; the test fixture turns them into test
failures, the benchmarks into an error message.
"""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path


class PostgresServerError(RuntimeError):
    """The server binaries are missing, or a server command failed."""


# Fast, not durable: a crash of the test machine may lose the throwaway cluster.
_FAST = "-c fsync=off -c synchronous_commit=off -c full_page_writes=off"


def postgres_bindir() -> Path:
    """The newest /usr/lib/postgresql/<version>/bin that has initdb and pg_ctl."""
    found = []
    for bindir in Path("/usr/lib/postgresql").glob("*/bin"):
        if (bindir / "initdb").is_file() and (bindir / "pg_ctl").is_file():
            version = tuple(int(part) for part in bindir.parent.name.split(".") if part.isdigit())
            found.append((version, bindir))
    if not found:
        raise PostgresServerError(
            "PostgreSQL server binaries not found under /usr/lib/postgresql/*/bin; "
            "run `make test`, which installs the `postgresql` package"
        )
    return max(found)[1]


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class PostgresServer:
    """A throwaway PostgreSQL cluster on 127.0.0.1 that trusts local connections.

    It owns its data directory and port and never touches the system's own cluster.
    Under root the server runs as the `postgres` user: PostgreSQL refuses to run as root.
    """

    @classmethod
    def launch(cls, root: Path | None = None, *, durable: bool = False) -> PostgresServer:
        """Create and start a server in `root` (a new temp dir by default).

        `durable=False` (tests) turns fsync and synchronous commit off; benchmarks
        pass `durable=True` to measure what a real deployment pays.
        """
        root = root or Path(tempfile.mkdtemp(prefix="cairn-pg-"))
        root.mkdir(parents=True, exist_ok=True)
        server = cls(postgres_bindir(), root, durable=durable)
        try:
            server.start()
        except BaseException:
            server.teardown()
            raise
        return server

    def __init__(self, bindir: Path, root: Path, *, durable: bool = False) -> None:
        self.bindir = bindir
        self.root = root
        self.data = root / "data"
        self.logfile = root / "server.log"
        self.port = _free_port()
        self._as: list[str] = []
        sockets = root / "sockets"
        sockets.mkdir(mode=0o700)
        if os.geteuid() == 0:
            owner = pwd.getpwnam("postgres")
            for path in (root, sockets):
                os.chown(path, owner.pw_uid, owner.pw_gid)
            self._as = ["runuser", "-u", "postgres", "--"]
        self._options = f"-h 127.0.0.1 -p {self.port} -k {sockets}" + (
            "" if durable else f" {_FAST}"
        )
        self._pg(
            "initdb",
            "-D",
            str(self.data),
            "-U",
            "postgres",
            "--auth=trust",
            "--encoding=UTF8",
            "--locale=C",
            "--no-sync",
            "--no-instructions",
        )
        # Trust the server's own socket and 127.0.0.1 only; initdb's default adds more.
        hba = self.data / "pg_hba.conf"
        stat = hba.stat()
        hba.write_text("local all all trust\nhost all all 127.0.0.1/32 trust\n")
        os.chown(hba, stat.st_uid, stat.st_gid)

    def _pg(self, program: str, *args: str, check: bool = True) -> int:
        done = subprocess.run(
            [*self._as, str(self.bindir / program), *args],
            cwd=self.root,  # the server's user may not be able to enter the caller's cwd
            capture_output=True,
            text=True,
            timeout=120,
        )
        if check and done.returncode != 0:
            log = self.logfile.read_text() if self.logfile.exists() else ""
            raise PostgresServerError(
                f"{program} {' '.join(args)} failed ({done.returncode}):\n"
                f"{done.stdout}{done.stderr}{log}"
            )
        return done.returncode

    def url_for(self, dbname: str) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{dbname}"

    def create_database(self, name: str) -> str:
        """Create an empty database `name` and return its URL."""
        import psycopg  # only the store's tests need it
        from psycopg import sql

        with psycopg.connect(self.url_for("postgres"), autocommit=True) as conn:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        return self.url_for(name)

    def start(self) -> None:
        self._pg(
            "pg_ctl",
            "-D",
            str(self.data),
            "-l",
            str(self.logfile),
            "-w",
            "-t",
            "60",
            "-o",
            self._options,
            "start",
        )

    def stop(self, mode: str = "fast") -> None:
        """Stop the server; `mode="immediate"` kills it without a clean shutdown, which
        (with synchronous_commit off) also loses the last fraction of a second of commits
        unless a CHECKPOINT ran after them."""
        self._pg("pg_ctl", "-D", str(self.data), "-w", "-t", "60", "-m", mode, "stop")

    def restart(self) -> None:
        self.stop()
        self.start()

    def teardown(self) -> None:
        """Stop the server (if running) and remove its directory."""
        if (self.data / "postmaster.pid").exists():
            self._pg("pg_ctl", "-D", str(self.data), "-m", "immediate", "stop", check=False)
        shutil.rmtree(self.root, ignore_errors=True)
