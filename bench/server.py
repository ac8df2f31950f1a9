"""Server responsiveness: how long `GET /health` takes while slow requests are served.

Runs a real `cairn serve` and asks /health over and over while one slow request is in
progress; prints its median, p99 and worst latency, each also as a ratio against /health
on the idle server measured in the same run (these machines are noisy), and how long the
slow request took.

  (a) WS /v1/execute of the last cell of a large runbook (the runbook is parsed first)
  (b) GET /v1/files/cells of that runbook
  (c) POST /v1/suggest with a large posted notebook, refused once it is parsed (no model)
  (d) POST /v1/notebooks/serialize with many edits, refused once they are validated

Target (issue 17): /health under 100 ms while any request is in progress. The parsing
runs in worker threads; what is left are pauses while a thread holds the GIL (pydantic's
JSON parser on a huge body, the garbage collector while a parse allocates millions of
objects), which grow with the number of objects a request creates.
Usage: .venv/bin/python bench/server.py [--runbook-mb 4] [--notebook-mb 40] [--edits 200000]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import secrets
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

import httpx
from websockets.sync.client import connect

CAIRN = str(Path(sys.executable).with_name("cairn"))
BLOCK = '## Step {i}\n\nWhat step {i} does.\n\n```sh {{"name":"s{i}"}}\necho {i}\n```\n\n'


def runbook(megabytes: float) -> str:
    blocks, text = [], 0
    while text < megabytes * (1 << 20):
        block = BLOCK.format(i=len(blocks))
        blocks.append(block)
        text += len(block)
    return "".join(blocks) + '```sh {"name":"last","interactive":"false"}\necho last\n```\n'


def notebook(megabytes: float) -> bytes:
    output = {"mime": "application/vnd.code.notebook.stdout", "data": "y" * 100}
    cell = {"kind": 2, "value": "echo", "languageId": "sh", "outputs": [{"items": [output]}]}
    count = int(megabytes * (1 << 20) / len(json.dumps(cell)))
    return json.dumps({"notebook": {"cells": [cell] * count}, "after": str(count + 1)}).encode()


class Server:
    def __init__(self, root: Path, config_dir: Path) -> None:
        self.token = secrets.token_urlsafe(24)
        token_file = config_dir / "token"
        config_dir.mkdir(mode=0o700, parents=True)
        token_file.write_text(self.token)
        token_file.chmod(0o600)
        env = {k: v for k, v in os.environ.items() if not k.startswith("CAIRN_")}
        env["CAIRN_CONFIG_DIR"] = str(config_dir)
        self.proc = subprocess.Popen(
            [CAIRN, "serve", str(root), "--port", "0", "--token-file", str(token_file)],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            if match := re.search(r"at (http://127\.0\.0\.1:\d+)", line):
                self.url = match.group(1)
                break
        else:
            raise SystemExit("cairn serve did not start")
        threading.Thread(target=self.proc.stdout.read, daemon=True).start()
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"{self.url}/health", trust_env=False).status_code == 200:
                    break
            except httpx.TransportError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)

    def http(self) -> httpx.Client:
        headers = {"Authorization": f"Bearer {self.token}"}
        return httpx.Client(base_url=self.url, headers=headers, trust_env=False, timeout=600)

    def close(self) -> None:
        self.proc.send_signal(signal.SIGINT)
        self.proc.wait(30)


def health_during(
    server: Server, slow: Callable[[], None] | None, seconds: float = 3.0
) -> tuple[list[float], float]:
    """/health latencies while `slow` runs (or for `seconds` when idle), and its duration."""
    latencies: list[float] = []
    thread = threading.Thread(target=slow) if slow is not None else None
    with httpx.Client(base_url=server.url, trust_env=False, timeout=600) as client:
        client.get("/health")
        start = time.monotonic()
        if thread is not None:
            thread.start()

        def running() -> bool:
            if thread is not None:
                return thread.is_alive()
            return time.monotonic() - start < seconds

        while running():
            asked = time.perf_counter()
            client.get("/health")
            latencies.append(time.perf_counter() - asked)
    return latencies, time.monotonic() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runbook-mb", type=float, default=4.0)
    parser.add_argument("--notebook-mb", type=float, default=40.0)
    parser.add_argument("--edits", type=int, default=200_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "books"
        root.mkdir()
        (root / "big.md").write_text(runbook(args.runbook_mb))
        server = Server(root, Path(tmp) / "config")
        try:
            run(server, args)
        finally:
            server.close()


def run(server: Server, args: argparse.Namespace) -> None:
    def execute() -> None:
        url = server.url.replace("http://", "ws://") + "/v1/execute"
        headers = {"Authorization": f"Bearer {server.token}"}
        with connect(url, additional_headers=headers, proxy=None, open_timeout=60) as ws:
            ws.send(json.dumps({"path": "big.md", "cell": "last"}))
            while json.loads(ws.recv(timeout=600))["type"] != "exited":
                pass

    def cells() -> None:
        with server.http() as client:
            assert client.get("/v1/files/cells", params={"path": "big.md"}).status_code == 200

    body = notebook(args.notebook_mb)

    def suggest() -> None:
        with server.http() as client:
            reply = client.post(
                "/v1/suggest", content=body, headers={"content-type": "application/json"}
            )
            assert reply.status_code == 400, reply.text[:200]

    edits = [{"index": i, "source": "echo"} for i in range(args.edits)]
    serialize_body = json.dumps({"markdown": "# x\n", "edits": edits}).encode()

    def serialize() -> None:
        with server.http() as client:
            reply = client.post(
                "/v1/notebooks/serialize",
                content=serialize_body,
                headers={"content-type": "application/json"},
            )
            assert reply.status_code == 422, reply.text[:200]

    idle, _ = health_during(server, None)
    base = statistics.median(idle)
    print(f"idle /health: median {base * 1000:.1f} ms over {len(idle)} requests\n")
    print(f"{'while':<44} {'slow took':>9} {'n':>6} {'median':>14} {'p99':>14} {'worst':>16}")
    cases: list[tuple[str, Callable[[], None]]] = [
        (f"(a) execute a cell of a {args.runbook_mb:g} MB runbook", execute),
        (f"(b) list the cells of a {args.runbook_mb:g} MB runbook", cells),
        (f"(c) suggest, {len(body) >> 20} MiB notebook posted", suggest),
        (f"(d) serialize, {args.edits} edits ({len(serialize_body) >> 20} MiB)", serialize),
    ]
    for label, slow in cases:
        latencies, took = health_during(server, slow)
        latencies.sort()
        median = statistics.median(latencies)
        p99 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))]
        worst = latencies[-1]
        mark = "ok" if worst < 0.1 else "OVER 100 ms"
        print(
            f"{label:<44} {took:>8.2f}s {len(latencies):>6}"
            f" {median * 1000:>6.1f}ms {median / base:>5.1f}x"
            f" {p99 * 1000:>6.1f}ms {p99 / base:>5.1f}x"
            f" {worst * 1000:>7.1f}ms {worst / base:>6.1f}x  {mark}"
        )


if __name__ == "__main__":
    main()
