"""The maintainer bot: mirror an issue tracker incrementally into the store, turn issues
into docs and embeddings, post related issues, fix comments by rule, and act on the
tracker only through an approvable action log.

- `_tracker`: the `Tracker` interface and the mirror's layout in the store
- `github`: the GitHub tracker (REST client, incremental sync, fake server, traces)
- `_txt`: the plain-text issue format of `rsc.io/github/issue` (fixtures, the demo)
- `commentfix`: comment rewriting rules
- `actions`: the action log (approval, exactly-once effects)
- `related`: the related-issues job and its per-model calibration

Heavy names are imported on first use, so `cairn --help` costs nothing.
"""

from __future__ import annotations

from .. import lazy
from ._errors import BotError, ConfigError, TrackerAuthError, TrackerError
from ._tracker import (
    COMMENTS,
    EVENTS,
    ISSUES,
    MIRROR_KIND,
    Posted,
    SyncReport,
    Tracker,
    mirror,
    mirror_key,
    parse_mirror_key,
)

# name → module, or module:attribute where the face names it differently. Add one line
# per exported name (keep it sorted); the module must exist when the line is committed.
_LAZY: dict[str, str] = {
    "FixResult": "._commentfix",
    "Rule": "._commentfix",
    "autolink": "._commentfix",
    "commentfix_job": "._commentfix",
    "fix_text": "._commentfix:fix",
    "load_rules": "._commentfix",
    "replace_text": "._commentfix",
    "replace_url": "._commentfix",
    "Calibration": "._related",
    "CalibrationError": "._related",
    "Related": "._related",
    "ThresholdRow": "._related",
    "calibrate": "._related",
    "duplicate_pairs": "._related",
    "issue_docs": "._related",
    "related_comment": "._related",
    "related_issues": "._related",
    "save_calibration": "._related",
    "search_related": "._related",
    "threshold_for": "._related",
    "Action": "._actions",
    "ActionError": "._actions",
    "ActionLog": "._actions",
    "CRASH_POINTS": "._actions",
    "Decision": "._actions",
    "action_marker": "._actions:marker",
    "unified_diff": "._actions",
    "BotRunner": "._runner",
    "BotSettings": "._config",
    "RelatedSettings": "._config",
    "bot_settings": "._config",
    "check_project": "._config",
    "parse_duration": "._config",
    "Delivery": "._webhook",
    "Job": "._pipeline",
    "PassReport": "._pipeline",
    "Pipeline": "._pipeline",
    "Step": "._pipeline",
    "bot_pipeline": "._pipeline",
    "WebhookError": "._webhook",
    "accept_webhook": "._webhook:accept",
    "webhook_secret": "._webhook",
    "webhook_signature": "._webhook:signature",
}

__all__ = [
    "COMMENTS",
    "EVENTS",
    "ISSUES",
    "MIRROR_KIND",
    "BotError",
    "ConfigError",
    "Posted",
    "SyncReport",
    "Tracker",
    "TrackerAuthError",
    "TrackerError",
    "mirror",
    "mirror_key",
    "parse_mirror_key",
    *_LAZY,
]


__getattr__ = lazy.exports(__name__, _LAZY)
