"""Issues as docs, the related-issues job, and its calibration per embedding model.

- `issue_docs`: a consumer of the mirror that keeps one doc per issue (`owner/repo#N`:
  title and body) and one per issue's comments (`owner/repo#N/comments`) in the docs
  corpus (`cairn.index.Docs`), so `cairn.index.embed_docs` re-embeds only new or edited
  issues.
- `related_issues`: a consumer of the mirror that, for each new open issue (not a pull
  request, created within the window), searches the vector index and plans one comment
  listing up to `max_results` related issues and docs above the threshold, in sections
  (Issues, Documentation), titles escaped, closed issues marked — as an action in the
  action log (posted when the log runs; approved first if the job needs approval).
- `calibrate`: the threshold is the embedding model's, not a constant. Pairs of known
  duplicates in the mirror (an issue closed with "Duplicate of #N", or marked as a
  duplicate by a `marked_as_duplicate` event naming its canonical issue) give precision and
  recall per threshold; the chosen one is stored with the model's name, and the job
  refuses to run for a model that has none (unless `[bot.related] threshold` is set).

Layout (keys encoded with `ordered`):
  ("bot.calibration", model name) → JSON {threshold, pairs, precision, recall, when}
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

import orjson

from ..index import Doc, Docs, Embedder, VectorIndex
from ..store import KV, ordered
from ..store.timed import Collection, Consumer
from ._actions import ActionLog
from ._config import RelatedSettings
from ._errors import BotError
from ._tracker import (
    COMMENTS,
    EVENTS,
    ISSUES,
    MIRROR_KIND,
    mirror,
    mirror_key,
    parse_mirror_key,
    raw,
)

_CALIBRATION = "bot.calibration"
_DUPLICATE = re.compile(r"(?i)\b(?:duplicate|dup|dupe)\s+of\s+#(\d+)\b")
_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>~])")


class CalibrationError(BotError):
    """No threshold is known for the index's embedding model, or nothing to calibrate on."""


def issue_doc_id(project: str, number: int) -> str:
    return f"{project}#{number}"


def _issue_of(doc_id: str) -> tuple[str, int] | None:
    """(project, number) of an issue's doc or comments doc; None for other docs."""
    base = doc_id.removesuffix("/comments")
    project, sep, number = base.rpartition("#")
    if not sep or "/" not in project or not number.isdigit():
        return None
    return project, int(number)


# -- issues → docs ---------------------------------------------------------------------------


def issue_docs(kv: KV, *, name: str = "bot.issuedocs", batch_size: int = 200) -> int:
    """Bring the issue docs up to date with the mirror; returns how many docs changed."""
    consumer = Consumer(kv, MIRROR_KIND, name)
    docs = Docs(kv)
    collection = mirror(kv)
    changed = 0
    with consumer.locked():
        for changes in consumer.batches(batch_size):
            wanted: dict[str, Doc] = {}
            for change in changes:
                project, number, api, _ = parse_mirror_key(change.key)
                if api == ISSUES and change.entry is not None:
                    issue = raw(change.entry.value)
                    doc_id = issue_doc_id(project, number)
                    wanted[doc_id] = Doc(
                        doc_id, str(issue.get("title") or ""), str(issue.get("body") or "")
                    )
                elif api == COMMENTS:
                    doc = _comments_doc(collection, project, number)
                    if doc is not None:
                        wanted[doc.id] = doc
            changed += len(docs.add(wanted.values()))
            # Docs.add is its own batch; a crash before this commit redoes the batch,
            # which writes nothing new (unchanged docs are skipped).
            consumer.commit(kv.batch(), changes[-1].seq)
    return changed


def _comments_doc(collection: Collection, project: str, number: int) -> Doc | None:
    """The doc of an issue's comments, as the mirror holds them now (None: no comments)."""
    first = ordered.encode(project, number, COMMENTS)
    last = ordered.encode(project, number, COMMENTS, ordered.Inf)
    bodies = [str(raw(e.value).get("body") or "") for e in collection.scan(first, last)]
    if not bodies:
        return None
    return Doc(f"{issue_doc_id(project, number)}/comments", "", "\n\n".join(bodies))


# -- related issues ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Related:
    doc_id: str
    title: str
    url: str
    score: float
    closed: bool


def _issue(kv: KV, project: str, number: int) -> dict[str, Any] | None:
    entry = mirror(kv).get(mirror_key(project, number, ISSUES, number))
    return None if entry is None else raw(entry.value)


def _escape(text: str) -> str:
    return _MD_SPECIAL.sub(r"\\\1", " ".join(text.split()))


def search_related(
    kv: KV, embedder: Embedder, index: VectorIndex, text: str, *, k: int = 10, exclude: str = ""
) -> list[Related]:
    """The issues and docs nearest to `text` by meaning, best first (one entry per issue:
    its doc or its comments doc, whichever is nearer)."""
    vector = embedder.embed([text])[0]
    seen: set[str] = set()
    out = []
    docs = Docs(kv)
    for match in index.search(vector, k * 3 + 2):
        issue = _issue_of(match.id)
        key = issue_doc_id(*issue) if issue is not None else match.id
        if key in seen or key == exclude:
            continue
        seen.add(key)
        if issue is not None:
            data = _issue(kv, *issue) or {}
            title = str(data.get("title") or key)
            url = str(data.get("html_url") or f"https://github.com/{issue[0]}/issues/{issue[1]}")
            closed = data.get("state") == "closed"
        else:
            doc = docs.get(match.id)
            title, url, closed = (doc.title if doc else "") or match.id, match.id, False
        out.append(Related(key, title, url, float(match.score), closed))
        if len(out) >= k:
            break
    return out


def related_comment(related: Iterable[Related]) -> str:
    """The comment listing related issues and docs, in sections."""
    issues = [r for r in related if _issue_of(r.doc_id) is not None]
    docs = [r for r in related if _issue_of(r.doc_id) is None]
    lines = []
    if issues:
        lines += ["**Related Issues**", ""]
        for r in issues:
            number = r.doc_id.rpartition("#")[2]
            closed = " (closed)" if r.closed else ""
            lines.append(f"- [{_escape(r.title)} #{number}]({r.url}){closed}")
        lines.append("")
    if docs:
        lines += ["**Related Documentation**", ""]
        lines += [f"- [{_escape(r.title)}]({r.url})" for r in docs]
        lines.append("")
    lines.append("<sub>(Emoji vote if this was helpful or unhelpful.)</sub>")
    return "\n".join(lines)


def threshold_for(kv: KV, model: str, settings: RelatedSettings) -> float:
    """The configured threshold, else the one calibrated for `model`; refuses otherwise."""
    if settings.threshold is not None:
        return settings.threshold
    raw_value = kv.get(ordered.encode(_CALIBRATION, model))
    if raw_value is None:
        raise CalibrationError(
            f"no threshold is calibrated for the embedding model {model!r}: run"
            " `cairn bot calibrate --save`, or set [bot.related] threshold in cairn.toml"
        )
    return float(orjson.loads(raw_value)["threshold"])


def _skipped(issue: dict[str, Any], settings: RelatedSettings) -> bool:
    title, body = str(issue.get("title") or ""), str(issue.get("body") or "")
    return (
        any(title.startswith(p) for p in settings.skip_title_prefix)
        or any(title.endswith(s) for s in settings.skip_title_suffix)
        or any(b in body for b in settings.skip_body_contains)
    )


def _created(issue: dict[str, Any]) -> float:
    try:
        return datetime.fromisoformat(
            str(issue.get("created_at")).replace("Z", "+00:00")
        ).timestamp()
    except ValueError:
        return 0.0


def related_issues(
    kv: KV,
    embedder: Embedder,
    index: VectorIndex,
    settings: RelatedSettings,
    *,
    approval_required: bool = False,
    now: Callable[[], float] = time.time,
    name: str = "bot.related",
) -> int:
    """Plan a related-issues comment for each new open issue; returns how many."""
    threshold = threshold_for(kv, embedder.name, settings)
    consumer = Consumer(kv, MIRROR_KIND, name)
    log = ActionLog(kv)
    planned = 0
    with consumer.locked():
        for changes in consumer.batches(100):
            for change in changes:
                project, number, api, _ = parse_mirror_key(change.key)
                if api != ISSUES or change.entry is None:
                    continue
                issue = raw(change.entry.value)
                key = f"related:{project}#{number}"
                if (
                    issue.get("state") != "open"
                    or "pull_request" in issue
                    or now() - _created(issue) > settings.window_days * 86400
                    or _skipped(issue, settings)
                    or log.find(key) is not None
                ):
                    continue
                text = f"{issue.get('title') or ''}\n\n{issue.get('body') or ''}"
                found = [
                    r
                    for r in search_related(
                        kv,
                        embedder,
                        index,
                        text,
                        k=settings.max_results,
                        exclude=issue_doc_id(project, number),
                    )
                    if r.score >= threshold
                ]
                if not found:
                    continue
                body = related_comment(found)
                log.add(
                    "post_comment",
                    key,
                    project=project,
                    number=number,
                    body=body,
                    diff=body,
                    approval_required=approval_required,
                )
                planned += 1
            consumer.commit(kv.batch(), changes[-1].seq)
    return planned


# -- calibration ------------------------------------------------------------------------------


@dataclass(frozen=True)
class ThresholdRow:
    threshold: float
    precision: float
    recall: float
    shown: float  # related entries shown per issue, on average

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 0.0 if p + r == 0 else 2 * p * r / (p + r)


@dataclass(frozen=True)
class Calibration:
    model: str
    pairs: int
    rows: list[ThresholdRow]
    chosen: ThresholdRow


def duplicate_pairs(kv: KV) -> list[tuple[str, int, int]]:
    """(project, issue, the issue it duplicates): issues closed with "Duplicate of #N"."""
    pairs = []
    for entry in mirror(kv).scan():
        project, number, api, _ = parse_mirror_key(entry.key)
        target = _duplicate_target(api, raw(entry.value))
        if target is None or target == number:
            continue
        issue = _issue(kv, project, number)
        if issue is not None and issue.get("state") == "closed":
            pairs.append((project, number, target))
    return sorted(set(pairs))


def _duplicate_target(api: str, record: dict[str, Any]) -> int | None:
    """The issue a mirrored record says its issue duplicates: a comment (or body)
    "Duplicate of #N", or a `marked_as_duplicate` event naming its canonical issue (as
    GitHub's timeline/GraphQL give it: `canonical.number`); None otherwise."""
    if api == EVENTS:
        if record.get("event") != "marked_as_duplicate":
            return None
        canonical = record.get("canonical") or record.get("canonical_issue")
        number = canonical.get("number") if isinstance(canonical, dict) else None
        return number if isinstance(number, int) else None
    if api not in (COMMENTS, ISSUES):
        return None
    found = _DUPLICATE.search(str(record.get("body") or ""))
    return None if found is None else int(found.group(1))


def calibrate(kv: KV, embedder: Embedder, index: VectorIndex, *, k: int = 10) -> Calibration:
    """Precision and recall per threshold (0.30 to 0.99) of "the issue a duplicate
    duplicates is listed as related", and the threshold with the best F1 (ties: the
    higher, more precise one)."""
    pairs = duplicate_pairs(kv)
    if not pairs:
        raise CalibrationError(
            "no known duplicates in the mirror (issues closed with a comment 'Duplicate of"
            " #N'): sync a project that has some, or set [bot.related] threshold by hand"
        )
    runs = []
    for project, number, target in pairs:
        issue = _issue(kv, project, number) or {}
        text = f"{issue.get('title') or ''}\n\n{issue.get('body') or ''}"
        found = search_related(
            kv, embedder, index, text, k=k, exclude=issue_doc_id(project, number)
        )
        runs.append((issue_doc_id(project, target), found))
    rows = []
    for step in range(30, 100):
        t = step / 100
        hits = shown = 0
        for want, listed in runs:
            above = [r for r in listed if r.score >= t]
            shown += len(above)
            hits += any(r.doc_id == want for r in above)
        precision = hits / shown if shown else 1.0
        rows.append(ThresholdRow(t, precision, hits / len(runs), shown / len(runs)))
    chosen = max(rows, key=lambda r: (round(r.f1, 9), r.threshold))
    return Calibration(embedder.name, len(pairs), rows, chosen)


def save_calibration(kv: KV, calibration: Calibration) -> None:
    record = {
        "threshold": calibration.chosen.threshold,
        "pairs": calibration.pairs,
        **{k: v for k, v in asdict(calibration.chosen).items() if k != "threshold"},
        "when": time.time(),
    }
    kv.set(ordered.encode(_CALIBRATION, calibration.model), orjson.dumps(record))
