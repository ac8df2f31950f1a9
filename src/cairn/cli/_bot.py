"""`cairn bot`: the maintainer bot's commands — sync a tracker into the store, run the
jobs, search and calibrate, the action log, and a fake GitHub to try it all offline.

Settings come from the `[bot]` table of cairn.toml (`cairn.bot.bot_settings`); the
GitHub token from `GITHUB_TOKEN` or `~/.netrc`, never written anywhere. Everything heavy
is imported inside the commands.
"""

from __future__ import annotations

import getpass
import json
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import click

from ._app import app
from ._index import _embedder, embedder_option
from ._params import Count
from ._progress import bar, spinner
from ._settings import common_options, opened_store, settings, store_option

if TYPE_CHECKING:
    from ..bot import ActionLog, BotSettings
    from ..bot.github import GitHub

api_option = click.option("--api", metavar="URL", help="GitHub's API (default: [bot] api).")


@app.group("bot")
def bot_app() -> None:
    """The maintainer bot: mirror an issue tracker, post related issues, act only through
    an approvable action log."""


def _settings() -> BotSettings:
    from ..bot import bot_settings

    return bot_settings(settings().config_files())


@contextmanager
def _github(api: str | None, record: str | None = None) -> Iterator[GitHub]:
    from ..bot.github import GitHub

    def on_wait(why: str, seconds: float) -> None:
        until = time.strftime("%H:%M:%S", time.localtime(time.time() + seconds))
        print(f"cairn: waiting {seconds:.0f} s for {why} (until {until})", file=sys.stderr)

    from ..llm.recorder import recorded_http

    # Recorded like model calls (`cairn debug`) unless recording is switched off.
    transport = recorded_http("github", settings().config_files())
    if record is not None:  # also an httprr trace, for replay with fake-github --from
        import httpx2

        from ..bot.github import TraceWriter

        transport = TraceWriter(transport or httpx2.HTTPTransport(), Path(record))
    tracker = GitHub.open(api or _settings().api, on_wait=on_wait, transport=transport)
    try:
        yield tracker
    finally:
        tracker.close()


def _projects(given: tuple[str, ...]) -> list[str]:
    from ..bot import check_project

    projects = [check_project(p) for p in given] or list(_settings().projects)
    if not projects:
        raise click.UsageError("name a project (OWNER/REPO), or list them in [bot] projects")
    return projects


@bot_app.command("sync")
@click.argument("projects", nargs=-1)
@click.option("--record", metavar="TRACE", help="Also write the traffic to an httprr trace.")
@api_option
@store_option
@common_options
def sync(
    projects: tuple[str, ...], record: str | None, api: str | None, store_url: str | None
) -> None:
    """Mirror the issues, comments and events of OWNER/REPO… into the store
    (incremental: only what changed since the last sync is fetched)."""
    names = _projects(projects)
    with opened_store(store_url) as kv, _github(api, record) as tracker, bar("syncing") as update:
        for project in names:
            update(0, None, f"syncing {project}")
            # A bar over the records read, its end estimated from GitHub's `rel="last"`.
            tracker.progress = lambda what, read, total: update(read, total, f"syncing {what}")
            report = tracker.sync(kv, project)
            print(
                f"{project}: {report.records} records changed; {report.requests} requests"
                f" ({report.not_modified} answered 304 Not Modified), {report.body_bytes:,}"
                " bytes"
            )


@bot_app.command("run")
@click.argument("projects", nargs=-1)
@click.option("--every", metavar="DURATION", help="Run again every DURATION (e.g. 2m).")
@click.option(
    "--dry-run",
    is_flag=True,
    help="Show what a pass would do (every action's diff); change nothing, here or on GitHub.",
)
@api_option
@store_option
@embedder_option
@common_options
def run(
    projects: tuple[str, ...],
    every: str | None,
    dry_run: bool,
    api: str | None,
    store_url: str | None,
    embedder: str | None,
) -> None:
    """Run the bot: sync, then the jobs (issue docs, embeddings, related issues), then
    the actions that need no approval or were approved."""
    from ..bot import ActionLog, bot_pipeline, parse_duration
    from ..store import snapshot

    names = _projects(projects)
    interval = parse_duration(every) if every else None
    with opened_store(store_url) as real, _github(api) as tracker:
        # A dry run works on a copy of the store: it syncs and plans, and changes nothing.
        kv = snapshot(real) if dry_run else real
        chosen, index = _embedder(kv, embedder, None, None)
        pipeline = bot_pipeline(kv, tracker, chosen, index, _settings(), names, act=not dry_run)
        while True:
            with spinner("bot pass") as say:
                pipeline.on_step = say
                report = pipeline.run_pass()
            jobs = ", ".join(f"{name}: {n}" for name, n in report.jobs.items())
            print(
                f"pass: {sum(s.records for s in report.syncs)} records changed; {jobs}"
                f" ({report.seconds:.1f} s)"
            )
            if dry_run:
                for action in ActionLog(kv).run(tracker, dry_run=True):
                    print(
                        f"would {action.kind} on {action.project}#{action.number}"
                        f" ({action.key}):\n{action.diff or action.body}"
                    )
            if interval is None:
                return
            time.sleep(interval)


@bot_app.command("related")
@click.option("--dry-run", is_flag=True, help="Show the comments it would post; post nothing.")
@api_option
@store_option
@embedder_option
@common_options
def related(dry_run: bool, api: str | None, store_url: str | None, embedder: str | None) -> None:
    """Run the related-issues job alone on the mirror (no sync): issue docs, embeddings,
    then one comment per new open issue; posted unless it needs approval or --dry-run."""
    from ..bot import ActionLog, issue_docs, related_issues
    from ..index import embed_docs
    from ..store import snapshot

    config = _settings()
    with opened_store(store_url) as real:
        kv = snapshot(real) if dry_run else real  # a dry run changes nothing
        chosen, index = _embedder(kv, embedder, None, None)
        issue_docs(kv)
        embed_docs(kv, chosen, index)
        planned = related_issues(
            kv, chosen, index, config.related, approval_required="related" in config.approve
        )
        print(f"{planned} related-issue comments planned")
        log = ActionLog(kv)
        if dry_run:
            for action in log.runnable():
                if action.key.startswith("related:"):
                    print(f"would post on {action.project}#{action.number}:\n{action.body}")
            return
        with _github(api) as tracker:
            for action in log.run(tracker):
                outcome = (action.result or {}).get("url", action.error or "")
                print(f"{action.id}  {action.state}  {outcome}")


@bot_app.command("search")
@click.argument("text")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per result.")
@click.option("-n", "limit", type=Count(1, 100), default=10, show_default=True)
@store_option
@embedder_option
@common_options
def search(
    text: str, as_json: bool, limit: int, store_url: str | None, embedder: str | None
) -> None:
    """The mirrored issues and docs nearest to TEXT by meaning."""
    from ..bot import search_related

    with opened_store(store_url, read_only=True) as kv:
        chosen, index = _embedder(kv, embedder, None, None)
        for r in search_related(kv, chosen, index, text, k=limit):
            if as_json:
                print(
                    json.dumps(
                        {
                            "id": r.doc_id,
                            "title": r.title,
                            "url": r.url,
                            "score": round(r.score, 4),
                            "closed": r.closed,
                        }
                    )
                )
            else:
                closed = " (closed)" if r.closed else ""
                print(f"{r.score:.3f}  {r.doc_id}  {r.title}{closed}")


@bot_app.command("calibrate")
@click.option("--save", is_flag=True, help="Store the chosen threshold for this model.")
@store_option
@embedder_option
@common_options
def calibrate_cmd(save: bool, store_url: str | None, embedder: str | None) -> None:
    """Precision and recall of related issues per threshold, on the mirror's known
    duplicates, for the index's embedding model."""
    from ..bot import calibrate, issue_docs, save_calibration
    from ..index import embed_docs

    with opened_store(store_url) as kv:
        chosen, index = _embedder(kv, embedder, None, None)
        issue_docs(kv)
        embed_docs(kv, chosen, index)
        result = calibrate(kv, chosen, index)
        print(f"model {result.model}: {result.pairs} known duplicate pairs")
        print("threshold  precision  recall  shown/issue")
        for row in result.rows[::5] if len(result.rows) > 10 else result.rows:
            print(
                f"{row.threshold:9.2f}  {row.precision:9.3f}  {row.recall:6.3f}  {row.shown:11.2f}"
            )
        c = result.chosen
        print(f"chosen: {c.threshold:.2f} (precision {c.precision:.3f}, recall {c.recall:.3f})")
        if save:
            save_calibration(kv, result)
            print(f"saved for {result.model}")


@bot_app.command("fix")
@click.option(
    "--text",
    "text_file",
    required=True,
    type=click.File("r"),
    metavar="FILE",
    help="The comment to fix (- for stdin).",
)
@click.option(
    "--rules",
    "rules_file",
    type=click.Path(exists=True, dir_okay=False),
    metavar="FILE",
    help="A TOML file of [[commentfix]] rules (default: cairn.toml).",
)
@click.option("--diff", is_flag=True, help="Print a unified diff instead of the text.")
@common_options
def fix_cmd(text_file: object, rules_file: str | None, diff: bool) -> None:
    """Print what the comment-fixing rules make of a text (a rule tester: no tracker)."""

    from ..bot import ConfigError, fix_text, load_rules, unified_diff
    from ..config import ConfigFileError, read_toml

    if rules_file is not None:
        try:
            data = read_toml(Path(rules_file)) or {}
        except ConfigFileError as exc:
            raise ConfigError(str(exc)) from None
        entries = data.get("commentfix", data.get("bot", {}).get("commentfix", []))
        rules = load_rules(entries, f"{rules_file}: [[commentfix]]")
    else:
        rules = load_rules(_settings().commentfix)
    text = text_file.read()  # type: ignore[attr-defined]
    result = fix_text(text, rules)
    if result is None:
        print("cairn: no rule fired; the text is unchanged", file=sys.stderr)
        sys.stdout.write("" if diff else text)
        return
    sys.stdout.write(unified_diff(text, result.text, "comment") if diff else result.text)


# -- the action log ------------------------------------------------------------------------


@bot_app.group("actions")
def actions_app() -> None:
    """The action log: what the bot did or wants to do, and the decisions on it."""


@contextmanager
def _log(store_url: str | None) -> Iterator[ActionLog]:
    from ..bot import ActionLog

    with opened_store(store_url) as kv:
        yield ActionLog(kv)


@actions_app.command("list")
@click.option(
    "--state", type=click.Choice(["pending", "approved", "denied", "done", "failed", "stale"])
)
@click.option("--json", "as_json", is_flag=True)
@store_option
@common_options
def actions_list(state: str | None, as_json: bool, store_url: str | None) -> None:
    """Every action, oldest first."""
    with _log(store_url) as log:
        for a in log:
            if state is not None and a.state != state:
                continue
            if as_json:
                print(
                    json.dumps(
                        {
                            "id": a.id,
                            "state": a.state,
                            "kind": a.kind,
                            "key": a.key,
                            "project": a.project,
                            "number": a.number,
                        }
                    )
                )
            else:
                print(f"{a.id}  {a.state:8}  {a.kind:12}  {a.project}#{a.number}  {a.key}")


@actions_app.command("show")
@click.argument("action_id")
@store_option
@common_options
def actions_show(action_id: str, store_url: str | None) -> None:
    """One action: its request, diff, decisions and result."""
    from dataclasses import asdict

    with _log(store_url) as log:
        print(json.dumps(asdict(log.resolve(action_id)), indent=2))


def _decider(given: str | None) -> str:
    return given or getpass.getuser()


def _decide(action_id: str, who: str | None, store_url: str | None, approve: bool) -> None:
    with _log(store_url) as log:
        a = log.decide(log.resolve(action_id).id, _decider(who), approve=approve)
        print(f"{a.id}: {'approved' if approve else 'denied'} by {a.decisions[-1].who}")


decider_option = click.option(
    "--as", "who", metavar="NAME", help="Who decides (default: your user name)."
)


@actions_app.command("approve")
@click.argument("action_id")
@decider_option
@store_option
@common_options
def actions_approve(action_id: str, who: str | None, store_url: str | None) -> None:
    """Approve an action (it runs at the next `run`)."""
    _decide(action_id, who, store_url, approve=True)


@actions_app.command("deny")
@click.argument("action_id")
@decider_option
@store_option
@common_options
def actions_deny(action_id: str, who: str | None, store_url: str | None) -> None:
    """Deny an action (it never runs)."""
    _decide(action_id, who, store_url, approve=False)


@actions_app.command("run")
@click.option("--dry-run", is_flag=True, help="Show what would run; change nothing.")
@api_option
@store_option
@common_options
def actions_run(dry_run: bool, api: str | None, store_url: str | None) -> None:
    """Run every action that needs no approval or was approved, exactly once."""
    with _log(store_url) as log, _github(api) as tracker:
        for a in log.run(tracker, dry_run=dry_run):
            if dry_run:
                print(f"would {a.kind} on {a.project}#{a.number}:\n{a.diff or a.body}")
            else:
                print(f"{a.id}  {a.state}  {(a.result or {}).get('url', a.error or '')}")


@actions_app.command("rerun")
@click.argument("action_id")
@store_option
@common_options
def actions_rerun(action_id: str, store_url: str | None) -> None:
    """Let a failed action run again at the next `run`."""
    with _log(store_url) as log:
        print(f"{log.rerun(log.resolve(action_id).id).id}: will run again")


# -- offline ---------------------------------------------------------------------------------


@bot_app.command("load")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=str))
@store_option
@common_options
def load_cmd(file: str, store_url: str | None) -> None:
    """Load issue histories in the text format of `rsc.io/github/issue` into the mirror
    (fixtures and demos; no network)."""

    from ..bot.github import load_txt, mirror_projects

    try:
        text = Path(file).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise click.ClickException(f"{file}: cannot read: {exc}") from None
    projects = load_txt(text)
    with opened_store(store_url) as kv:
        changed = mirror_projects(kv, projects)
    issues = sum(len(p.issues) for p in projects.values())
    print(f"{file}: {issues} issues of {', '.join(sorted(projects))}; {changed} records changed")


@bot_app.command("fake-github")
@click.option(
    "--txt",
    "txt_files",
    multiple=True,
    type=click.Path(exists=True, dir_okay=False),
    metavar="FILE",
    help="Serve these issue histories (rsc.io/github/issue text).",
)
@click.option("--port", type=Count(0, 65535), default=0, help="Default: a free port.")
@click.option(
    "--demo",
    type=Count(0, 100_000),
    default=40,
    show_default=True,
    help="Issues of a synthetic demo project cairn-demo/runbooks.",
)
@common_options
def fake_github(traces: tuple[str, ...], txt_files: tuple[str, ...], port: int, demo: int) -> None:
    """Serve a fake GitHub on 127.0.0.1 (the real REST API, no network), to try the bot
    offline: `cairn bot sync cairn-demo/runbooks --api URL`."""

    from ..bot.github import FakeGitHub, demo_project, load_txt, projects_from_traces

    projects = {"cairn-demo/runbooks": demo_project(demo)} if demo and not traces else {}
    projects.update(projects_from_traces([Path(t) for t in traces]))
    for file in txt_files:
        projects.update(load_txt(Path(file).read_text(encoding="utf-8")))
    fake = FakeGitHub(projects)
    url = fake.start(port)
    print(f"fake GitHub at {url} (Ctrl-C stops it)", flush=True)
    try:
        while True:
            time.sleep(3600)
    finally:
        fake.stop()
