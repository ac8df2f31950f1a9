"""Large runbooks: `cairn list` on a generated 50 MB runbook vs markdown-it alone.

Writes a seeded runbook of about `--mb` MB (sections of a heading, a paragraph with
inline code and a link, a fenced `sh` cell with a JSON name; every 50th section also a
2000-line ```text block), then times each command below in a subprocess of its own,
interleaved, and reads its peak RSS (VmHWM, inside the process; wait4's ru_maxrss
would not do: Linux keeps the forking parent's peak across exec):

  cairn list FILE              (rich table to /dev/null)
  cairn list --json FILE
  markdown-it                  MarkdownIt("commonmark").parse(text), the baseline
  markdown-it, block only      the same with inline parsing disabled, as Cairn runs it

Target (issue 17): `cairn list` within 3x the time of markdown-it's parse of the same
text, and peak RSS ≤ 5x the file size.
Usage: .venv/bin/python bench/notebook.py [--mb 50] [--runs 3] [--seed 17]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

# Each probe runs one command in-process, then writes its peak RSS (KiB) to argv[1].
_EPILOGUE = (
    "def _report():\n"
    "    status = open('/proc/self/status').read()\n"
    "    with open(_rss_path, 'w') as out:\n"
    "        out.write(status.split('VmHWM:')[1].split()[0])\n"
)
_PROLOGUE = "import atexit, sys\n_rss_path = sys.argv.pop(1)\n" + _EPILOGUE
_CAIRN_PROBE = (
    _PROLOGUE + "atexit.register(_report)\n"
    "from cairn.cli import main\n"
    "sys.argv = ['cairn', *sys.argv[1:]]\n"
    "sys.exit(main())\n"
)
_MARKDOWN_IT_PROBE = (
    _PROLOGUE + "from markdown_it import MarkdownIt\n"
    "md = MarkdownIt('commonmark')\n"
    "if sys.argv[2] == 'block':\n"
    "    md.core.ruler.disable(['inline', 'text_join'])\n"
    "with open(sys.argv[1], encoding='utf-8', newline='') as f:\n"
    "    text = f.read()\n"
    "tokens = md.parse(text)\n"
    "_report()\n"
)

WORDS = [
    "deploy",
    "restart",
    "check",
    "status",
    "logs",
    "cluster",
    "node",
    "pod",
    "service",
    "volume",
    "backup",
    "restore",
    "migrate",
    "rollout",
    "scale",
    "drain",
    "cordon",
    "certificate",
    "secret",
    "config",
    "ingress",
    "database",
    "replica",
    "primary",
    "failover",
    "cache",
    "queue",
    "worker",
    "cron",
    "alert",
    "metric",
    "dashboard",
]


def runbook(megabytes: float, seed: int) -> str:
    """A seeded runbook of about `megabytes` MB, shaped like the one issue 17 measured."""
    rng = random.Random(seed)
    target = int(megabytes * 1_000_000)
    parts: list[str] = []
    size = 0
    i = 0
    while size < target:
        verb, noun = rng.choice(WORDS), rng.choice(WORDS)
        words = " ".join(rng.choices(WORDS, k=rng.randint(2, 6)))
        section = (
            f"## Step {i}: {verb} the {noun}\n\n"
            f"Run `{verb}-{noun} --dry-run` first; see [the {noun} guide]"
            f"(https://example.com/docs/{noun}#{i}). {words.capitalize()}.\n\n"
            f'```sh {{"name":"step-{i}"}}\n'
            f"kubectl {verb} {noun} --namespace ns-{i % 97} --selector app={noun}\n"
            f"echo done {i}\n"
            "```\n\n"
        )
        if i % 50 == 49:
            lines = [f"{rng.choice(WORDS)} {n}\n" for n in range(2000)]
            section += "Expected output:\n\n```text\n" + "".join(lines) + "```\n\n"
        parts.append(section)
        size += len(section)
        i += 1
    return "".join(parts)


def measure(argv: list[str], rss_file: Path) -> tuple[float, float]:
    """Wall seconds and peak RSS (MB) of one probe subprocess."""
    start = time.perf_counter()
    subprocess.run(
        [sys.executable, "-c", argv[0], str(rss_file), *argv[1:]],
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    elapsed = time.perf_counter() - start
    return elapsed, int(rss_file.read_text()) / 1024


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--mb", type=float, default=50.0)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--seed", type=int, default=17)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        os.environ["CAIRN_CONFIG_DIR"] = str(Path(tmp) / "config")
        book = Path(tmp) / "big.md"
        book.write_text(runbook(args.mb, args.seed), encoding="utf-8", newline="")
        file_mb = book.stat().st_size / 1e6
        rss_file = Path(tmp) / "rss"
        commands = {
            "cairn list": [_CAIRN_PROBE, "list", str(book)],
            "cairn list --json": [_CAIRN_PROBE, "list", "--json", str(book)],
            "markdown-it": [_MARKDOWN_IT_PROBE, str(book), "full"],
            "markdown-it, block only": [_MARKDOWN_IT_PROBE, str(book), "block"],
        }
        results: dict[str, list[tuple[float, float]]] = {name: [] for name in commands}
        for _ in range(args.runs):  # interleaved, so drift hits every command alike
            for name, argv in commands.items():
                results[name].append(measure(argv, rss_file))
        out = subprocess.run(
            [sys.executable, "-c", _CAIRN_PROBE, str(rss_file), "list", "--json", str(book)],
            check=True,
            capture_output=True,
        )
        cells = len(json.loads(out.stdout))

    seconds = {name: statistics.median(t for t, _ in runs) for name, runs in results.items()}
    peak = {name: max(r for _, r in runs) for name, runs in results.items()}
    base = seconds["markdown-it"]
    header = ("command", "time", "vs markdown-it", "peak RSS", "RSS / file", "target", "ok")
    table: list[tuple[str, ...]] = [header]
    for name in commands:
        ratio, per_file = seconds[name] / base, peak[name] / file_mb
        is_cairn = name.startswith("cairn")
        ok = ratio <= 3 and per_file <= 5
        table.append(
            (
                name,
                f"{seconds[name]:.2f} s",
                f"{ratio:.2f}x",
                f"{peak[name]:.0f} MB",
                f"{per_file:.2f}x",
                "≤ 3x, ≤ 5x" if is_cairn else "",
                ("yes" if ok else "NO") if is_cairn else "",
            )
        )
    widths = [max(len(row[i]) for row in table) for i in range(len(header))]
    for row in table:
        print("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip())
    print(
        f"\n{file_mb:.1f} MB runbook, {cells} code cells (seed {args.seed}); median of"
        f" {args.runs} interleaved runs, worst peak RSS (VmHWM); {os.cpu_count()} cores"
    )


if __name__ == "__main__":
    main()
