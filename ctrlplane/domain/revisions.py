"""Revisions of a daemon set: the template hash and the history derived from the log.

A revision is a distinct pod template, identified by `template_hash`. The fold
(state.py) numbers them: a new template gets max+1, re-applying (or rolling
back to) a template already in history moves it to max+1, as Kubernetes does
with ControllerRevisions. This module only reads that history; it never
appends events itself and never looks at a clock.
"""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING

from ctrlplane._proto.v1 import events_pb2, objects_pb2
from ctrlplane.domain.errors import NotFound

if TYPE_CHECKING:  # state.py's fold imports this module: no cycle at run time
    from ctrlplane.domain.state import DaemonSetState, RevisionRecord

CHANGE_CAUSE_ANNOTATION = "kubernetes.io/change-cause"
DEFAULT_HISTORY_LIMIT = 10


def template_hash(template: objects_pb2.PodTemplateSpec) -> str:
    """10 hex chars of sha256 over the deterministic serialization of the template."""
    data = template.SerializeToString(deterministic=True)
    return hashlib.sha256(data).hexdigest()[:10]


def history_limit(ds: DaemonSetState) -> int:
    spec = ds.obj.spec
    if spec.HasField("revision_history_limit"):
        return max(0, spec.revision_history_limit)
    return DEFAULT_HISTORY_LIMIT


def history(ds: DaemonSetState) -> list[RevisionRecord]:
    """The revisions shown and kept as rollback targets, ascending.

    `revisionHistoryLimit` counts old revisions (as in Kubernetes); the current
    revision is always kept on top of them.
    """
    current = [r for r in ds.revisions if r.hash == ds.template_hash]
    old = [r for r in ds.revisions if r.hash != ds.template_hash]
    limit = history_limit(ds)
    kept = old[len(old) - limit :] if limit > 0 else []
    return sorted(kept + current, key=lambda r: r.revision)


def find_revision(ds: DaemonSetState, revision: int) -> RevisionRecord:
    """The record with that number among `history(ds)`, else NotFound."""
    for record in history(ds):
        if record.revision == revision:
            return record
    raise NotFound("revision", f"{revision} of daemon set {ds.key[0]}/{ds.key[1]}")


def rollback_target(ds: DaemonSetState, to_revision: int = 0) -> RevisionRecord:
    """What `rollout undo [--to-revision=N]` restores.

    0 means the previous revision (the highest one below the current). The
    current revision itself is returned when asked for: the caller prints that
    the rollback was skipped (kubectl: "skipped rollback (current template
    already matches revision N)"). An unknown revision raises NotFound.
    """
    if to_revision == 0:
        previous = [r for r in history(ds) if r.hash != ds.template_hash]
        if not previous:
            raise NotFound("previous revision", f"daemon set {ds.key[0]}/{ds.key[1]}")
        return previous[-1]
    return find_revision(ds, to_revision)


def is_current(ds: DaemonSetState, record: RevisionRecord) -> bool:
    return record.hash == ds.template_hash


def rolled_back_daemon_set(
    ds: DaemonSetState, record: RevisionRecord, reason: str
) -> events_pb2.DaemonSetRolledBack:
    """The DaemonSetRolledBack payload restoring `record` (generation bumped).

    Used both by the API (`rollout undo`, reason "user") and by the controller
    (auto-rollback, reason naming the failure), so the two agree on its shape.
    """
    obj = objects_pb2.DaemonSet()
    obj.CopyFrom(ds.obj)
    obj.ClearField("status")
    obj.spec.template.CopyFrom(record.template)
    obj.metadata.generation = ds.obj.metadata.generation + 1
    return events_pb2.DaemonSetRolledBack(
        daemon_set=obj,
        template_hash=record.hash,
        to_revision=record.revision,
        reason=reason,
    )


def change_cause(obj: objects_pb2.DaemonSet) -> str:
    """The change-cause annotation of an applied daemon set ("" when absent)."""
    return obj.metadata.annotations.get(CHANGE_CAUSE_ANNOTATION, "")
