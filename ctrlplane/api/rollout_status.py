"""kubectl's rollout status of a daemon set (polymorphichelpers/rollout_status.go).

Plus one thing kubectl cannot know: when the plane recorded the rollout of
the current revision complete (RolloutCompleted; the Progressing condition
with reason RolloutComplete), the rollout is done even while the counters
fall short, e.g. a node was lost after (or while) its pod was replaced and
can neither be updated nor report ready. This is the one place that decides
`done`; dsctl follows it.

Pure: the object and its status in, (message, done, failed) out.
"""

from __future__ import annotations

from ctrlplane._proto.v1 import objects_pb2
from ctrlplane.domain.errors import FailedPrecondition


def rollout_status(ds: objects_pb2.DaemonSet) -> tuple[str, bool, bool]:
    """(message, done, failed) as `kubectl rollout status` words it."""
    name = ds.metadata.name
    status = ds.status
    if ds.spec.update_strategy.type != "RollingUpdate":
        raise FailedPrecondition("rollout status is only available for RollingUpdate strategy type")
    for condition in status.conditions:
        if condition.type == "RolloutFailed" and condition.status == "True":
            why = condition.message or condition.reason
            return f'daemon set "{name}" rollout failed: {why}\n', True, True
    if ds.metadata.generation > status.observed_generation:
        return "Waiting for daemon set spec update to be observed...\n", False, False
    waiting = _waiting(ds)
    if waiting is None:
        return f'daemon set "{name}" successfully rolled out\n', True, False
    if recorded_complete(status):
        return (
            f'daemon set "{name}" successfully rolled out (revision {status.current_revision} '
            f"recorded complete; {status.number_available} of "
            f"{status.desired_number_scheduled} pods available now)\n",
            True,
            False,
        )
    return waiting, False, False


def recorded_complete(status: objects_pb2.DaemonSetStatus) -> bool:
    """The plane recorded the current revision's rollout complete (domain/status.py)."""
    return any(
        c.type == "Progressing" and c.status == "True" and c.reason == "RolloutComplete"
        for c in status.conditions
    )


def _waiting(ds: objects_pb2.DaemonSet) -> str | None:
    """kubectl's words for what the counters still wait for; None when they are done."""
    name, status = ds.metadata.name, ds.status
    if status.updated_number_scheduled < status.desired_number_scheduled:
        return (
            f'Waiting for daemon set "{name}" rollout to finish: '
            f"{status.updated_number_scheduled} out of {status.desired_number_scheduled} "
            "new pods have been updated...\n"
        )
    if status.number_available < status.desired_number_scheduled:
        return (
            f'Waiting for daemon set "{name}" rollout to finish: '
            f"{status.number_available} of {status.desired_number_scheduled} "
            "updated pods are available...\n"
        )
    return None
