"""Decisions in a form a test can compare: (kind, node or revision, reason)."""

from __future__ import annotations

from collections.abc import Iterable

from ctrlplane.controller.decisions import Decision


def summary(decisions: Iterable[Decision]) -> list[tuple[str, ...]]:
    out: list[tuple[str, ...]] = []
    for d in decisions:
        e = d.payload
        kind = e.WhichOneof("kind")
        if kind == "pod_scheduled":
            out.append(("schedule", e.pod_scheduled.node_name, e.pod_scheduled.reason))
        elif kind == "pod_deleted":
            out.append(("delete", e.pod_deleted.node_name, e.pod_deleted.reason))
        elif kind == "rollout_completed":
            out.append(("completed", str(e.rollout_completed.revision)))
        elif kind == "rollout_failed":
            out.append(("failed", str(e.rollout_failed.revision), e.rollout_failed.reason))
        elif kind == "daemon_set_rolled_back":
            out.append(("rolled-back", str(e.daemon_set_rolled_back.to_revision)))
        else:
            out.append((str(kind),))
    return out
