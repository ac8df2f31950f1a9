"""Maintainer-bot benchmarks (issue 20), every ratio against a baseline of the same run.

  1. Sync of a synthetic project (default 10,000 issues, 50,000 comments) from the fake
     GitHub on 127.0.0.1: first sync and idle re-sync, time, requests and body bytes,
     against a same-run replay of Gaby's request pattern (three listings re-read on every
     sync, comments at GitHub's default 30 per page, no conditional requests).
  2. Related-issue latency, from a new issue's webhook-triggered pass to its comment
     posted (sync + issue docs + embedding + search + the action), p50/p95, with the
     local embedder (all-MiniLM-L6-v2); target p95 < 5 s.
  3. Calibration on the demo project's known duplicates with the local embedder:
     precision and recall per threshold, with the model's name.
  4. Exactly-once actions: 1,000 trials of a runner killed (SIGKILL) at a random point of
     an action's execution, against the fake GitHub: duplicates and lost actions.

Usage: .venv/bin/python bench/bot.py [--issues 10000] [--comments 50000] [--trials 1000]
       [--only sync|related|calibrate|crash]
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx2

from cairn.bot import (
    CRASH_POINTS,
    ActionLog,
    action_marker,
    bot_pipeline,
    bot_settings,
    calibrate,
    issue_docs,
)
from cairn.bot.github import DEMO_PROJECT, FakeGitHub, GitHub, GitHubClient, Project, demo_project
from cairn.config import load
from cairn.index import LocalEmbedder, VectorIndex, embed_docs
from cairn.store import SQLiteKV

P = "bench/project"


def synthetic(issues: int, comments: int) -> FakeGitHub:
    fake = FakeGitHub({P: Project()})
    t = 1_700_000_000.0
    rng = random.Random(1)
    for n in range(1, issues + 1):
        t += 30
        fake.add_issue(
            P, n, title=f"issue {n} about component {n % 97}", body="body " * 20, created_at=t
        )
    for _ in range(comments):
        t += 5
        fake.add_comment(P, rng.randint(1, issues), body="a comment " * 10, created_at=t)
    return fake


def gaby_sync(client: httpx2.Client, base: str, state: dict[str, Any]) -> tuple[int, int]:
    """Gaby's pattern: issues (per_page=100) and comments (default 30 per page) since the
    newest updated_at seen, and events (per_page=100) until a known id; no conditional
    requests. Returns (requests, body bytes)."""
    requests = body = 0
    for api, per_page in (("issues", "100"), ("issues/comments", None)):
        params: dict[str, str] | None = {"sort": "updated", "direction": "asc"}
        assert params is not None
        if api == "issues":
            params["state"] = "all"
        if per_page:
            params["per_page"] = per_page
        if state.get(api):
            params["since"] = state[api]
        url: str | None = f"{base}/repos/{P}/{api}"
        while url:
            r = client.get(url, params=params)
            params = None
            requests += 1
            body += len(r.content)
            for item in r.json():
                state[api] = max(state.get(api, ""), item["updated_at"])
            url = r.links.get("next", {}).get("url")
    known = state.setdefault("events", set())
    url = f"{base}/repos/{P}/issues/events"
    params = {"per_page": "100"}
    while url:
        r = client.get(url, params=params)
        params = None
        requests += 1
        body += len(r.content)
        items = r.json()
        fresh = [e for e in items if e["id"] not in known]
        known.update(e["id"] for e in items)
        url = r.links.get("next", {}).get("url") if len(fresh) == len(items) else None
    return requests, body


def bench_sync(issues: int, comments: int) -> None:
    print(f"1. sync of {issues:,} issues / {comments:,} comments from the fake GitHub")
    fake = synthetic(issues, comments)
    fake.start()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        kv = SQLiteKV(Path(tmp) / "bot.db", durable=False)
        gh = GitHub(GitHubClient(fake.url))
        for label in ("first sync", "idle re-sync"):
            before = len(fake.requests)
            t0 = time.perf_counter()
            gh.sync(kv, P)
            seconds = time.perf_counter() - t0
            seen = fake.requests[before:]
            rows.append(
                (
                    "cairn",
                    label,
                    seconds,
                    len(seen),
                    sum(r.status == 304 for r in seen),
                    sum(r.body_bytes for r in seen),
                )
            )
        kv.close()
    state: dict[str, Any] = {}
    with httpx2.Client(trust_env=False, timeout=60) as client:
        for label in ("first sync", "idle re-sync"):
            before = len(fake.requests)
            t0 = time.perf_counter()
            gaby_sync(client, fake.url, state)
            seconds = time.perf_counter() - t0
            seen = fake.requests[before:]
            rows.append(
                (
                    "gaby pattern",
                    label,
                    seconds,
                    len(seen),
                    sum(r.status == 304 for r in seen),
                    sum(r.body_bytes for r in seen),
                )
            )
    fake.stop()
    print(
        f"{'client':13} {'pass':13} {'seconds':>8} {'requests':>9} {'304s':>5} {'body bytes':>13}"
    )
    for client_name, label, seconds, n, n304, size in rows:
        print(f"{client_name:13} {label:13} {seconds:8.2f} {n:9,} {n304:5} {size:13,}")
    cairn_first, cairn_idle, gaby_first, gaby_idle = rows
    print(
        f"ratios vs Gaby's pattern: first sync time {cairn_first[2] / gaby_first[2]:.2f}x,"
        f" requests {cairn_first[3] / gaby_first[3]:.2f}x; idle re-sync requests"
        f" {cairn_idle[3]}/{gaby_idle[3]}, body bytes {cairn_idle[5]:,} vs {gaby_idle[5]:,}"
    )
    ok = cairn_idle[4] == cairn_idle[3] == 3 and cairn_idle[5] == 0
    print(f"target: idle re-sync = one 304 per listing, 0 body bytes: {'ok' if ok else 'MISSED'}\n")


def bench_related(samples: int) -> None:
    print(
        f"2. related-issue latency: a new issue's pass to its posted comment ({samples} issues,"
        " local embedder)"
    )
    fake = FakeGitHub({DEMO_PROJECT: demo_project(200)})
    fake.start()
    with tempfile.TemporaryDirectory() as tmp:
        cfg = Path(tmp)
        (cfg / "cairn.toml").write_text(
            f'[bot]\nprojects = ["{DEMO_PROJECT}"]\napi = "{fake.url}"\n'
            "[bot.related]\nthreshold = 0.4\nwindow_days = 36500\n"
        )
        kv = SQLiteKV(cfg / "bot.db", durable=False)
        embedder = LocalEmbedder()
        index = VectorIndex(kv, "docs", model=embedder.name)
        pipeline = bot_pipeline(
            kv,
            GitHub(GitHubClient(fake.url)),
            embedder,
            index,
            bot_settings(load(cfg, project_dir=cfg)),
        )
        t0 = time.perf_counter()
        pipeline.run_pass()  # the first pass mirrors and embeds the 200 issues
        warm = time.perf_counter() - t0
        latencies = []
        rng = random.Random(3)
        for i in range(samples):
            issue = fake.add_issue(
                DEMO_PROJECT,
                title=f"cairn run hangs on stdin again ({i})",
                body=rng.choice(["Ctrl-C does nothing.", "It waits forever."]),
            )
            t0 = time.perf_counter()
            pipeline.run_pass()
            latencies.append(time.perf_counter() - t0)
            assert any(
                "Related Issues" in c["body"]
                for c in fake.comments_on(DEMO_PROJECT, issue["number"])
            )
        kv.close()
    fake.stop()
    p50 = statistics.median(latencies)
    p95 = sorted(latencies)[max(0, int(len(latencies) * 0.95) - 1)]
    print(f"first pass (200 issues mirrored and embedded): {warm:.1f} s")
    print(
        f"per new issue: p50 {p50 * 1000:.0f} ms, p95 {p95 * 1000:.0f} ms"
        f" ({p95 / p50:.2f}x p50); target p95 < 5 s: {'ok' if p95 < 5 else 'MISSED'}\n"
    )


def bench_calibrate() -> None:
    print("3. calibration on the demo project's known duplicates (local embedder)")
    with tempfile.TemporaryDirectory() as tmp:
        fake = FakeGitHub({DEMO_PROJECT: demo_project(40)})
        fake.start()
        kv = SQLiteKV(Path(tmp) / "bot.db", durable=False)
        GitHub(GitHubClient(fake.url)).sync(kv, DEMO_PROJECT)
        embedder = LocalEmbedder()
        index = VectorIndex(kv, "docs", model=embedder.name)
        issue_docs(kv)
        embed_docs(kv, embedder, index)
        result = calibrate(kv, embedder, index)
        kv.close()
        fake.stop()
    print(f"model {result.model}; {result.pairs} known duplicate pairs")
    print("threshold  precision  recall  shown/issue")
    for row in result.rows[::5]:
        print(f"{row.threshold:9.2f}  {row.precision:9.3f}  {row.recall:6.3f}  {row.shown:11.2f}")
    c = result.chosen
    print(
        f"chosen {c.threshold:.2f}: precision {c.precision:.3f}, recall {c.recall:.3f} (best F1)\n"
    )


def bench_crash(trials: int) -> None:
    print(f"4. exactly-once actions: {trials} runner processes killed at random points")
    rng = random.Random(11)
    fake = FakeGitHub()
    fake.start()
    for n in range(1, 51):
        fake.add_issue(P, n, title=f"issue {n}")
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "actions.db"
        kv = SQLiteKV(db)
        log = ActionLog(kv)
        planned = []
        kills = runs = 0
        t0 = time.perf_counter()
        while runs < trials:
            if not [a for a in log if a.state != "done"]:
                planned += [
                    log.add(
                        "post_comment",
                        f"a{len(planned) + i}",
                        project=P,
                        number=1 + (len(planned) + i) % 50,
                        body=f"post {len(planned) + i}",
                    )
                    for i in range(10)
                ]
            kv.close()
            point = rng.choice([*CRASH_POINTS, "none"])
            pid = os.fork()
            if pid == 0:  # the runner: its own store connection and client
                os.environ["CAIRN_BOT_CRASH_AT"] = point
                child = SQLiteKV(db)
                ActionLog(child).run(GitHub(GitHubClient(fake.url)))
                os._exit(0)
            _, status = os.waitpid(pid, 0)
            runs += 1
            kills += os.WIFSIGNALED(status)
            kv = SQLiteKV(db)
            log = ActionLog(kv)
        while [a for a in log if a.state != "done"]:  # finish what is left, no crashes
            log.run(GitHub(GitHubClient(fake.url)))
        seconds = time.perf_counter() - t0
        done = {a.id for a in log if a.state == "done"}
        recovered = sum(1 for a in log if (a.result or {}).get("recovered"))
        kv.close()
    duplicates = lost = 0
    for a in planned:
        copies = [c for c in fake.comments_on(P, a.number) if action_marker(a.id) in c["body"]]
        duplicates += max(0, len(copies) - 1)
        lost += (not copies) or a.id not in done
    fake.stop()
    print(
        f"runner processes {runs}, killed {kills}, actions {len(planned)},"
        f" found by their marker after a kill {recovered}, {seconds:.1f} s"
    )
    verdict = "ok" if duplicates == lost == 0 else "FAILED"
    print(f"duplicate posts {duplicates}, lost actions {lost}: {verdict}\n")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--issues", type=int, default=10_000)
    parser.add_argument("--comments", type=int, default=50_000)
    parser.add_argument("--samples", type=int, default=20)
    parser.add_argument("--trials", type=int, default=1000)
    parser.add_argument("--only", choices=["sync", "related", "calibrate", "crash"])
    args = parser.parse_args()
    os.environ["GITHUB_TOKEN"] = ""
    start = time.perf_counter()
    if args.only in (None, "sync"):
        bench_sync(args.issues, args.comments)
    if args.only in (None, "related"):
        bench_related(args.samples)
    if args.only in (None, "calibrate"):
        bench_calibrate()
    if args.only in (None, "crash"):
        bench_crash(args.trials)
    print(f"total {time.perf_counter() - start:.0f} s; {os.cpu_count()} cores")


if __name__ == "__main__":
    main()
