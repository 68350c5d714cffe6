"""kubectl's rollout status of a daemon set (polymorphichelpers/rollout_status.go).

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
    if status.updated_number_scheduled < status.desired_number_scheduled:
        return (
            f'Waiting for daemon set "{name}" rollout to finish: '
            f"{status.updated_number_scheduled} out of {status.desired_number_scheduled} "
            "new pods have been updated...\n",
            False,
            False,
        )
    if status.number_available < status.desired_number_scheduled:
        return (
            f'Waiting for daemon set "{name}" rollout to finish: '
            f"{status.number_available} of {status.desired_number_scheduled} "
            "updated pods are available...\n",
            False,
            False,
        )
    return f'daemon set "{name}" successfully rolled out\n', True, False
