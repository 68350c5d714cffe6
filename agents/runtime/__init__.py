"""The Runtime protocol: how an agent runs pods, whatever runs them.

A runtime starts and stops pods by key, says which pods it holds (with the
revision hash they were started from), and tells a listener every time a
pod's status changes. It never talks to the plane and never decides what
should run: that is the agent's plan.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from ctrlplane._proto.v1 import objects_pb2
from ctrlplane.domain.streams import namespace_or_default

PodKey = tuple[str, str]  # (namespace, name)

REVISION_ANNOTATION = "ctrlplane.io/revision-hash"


@dataclass(frozen=True, slots=True)
class PodReport:
    """A pod's observed status, as the agent reports it (compared for changes)."""

    phase: str = "Pending"
    ready: bool = False
    restart_count: int = 0
    message: str = ""
    reason: str = ""


Listener = Callable[[PodKey, PodReport], None]


class Runtime(Protocol):
    def set_listener(self, listener: Listener) -> None:
        """Called (synchronously, on the loop) with every status change."""
        ...

    async def start(self, pod: objects_pb2.Pod, revision_hash: str) -> None:
        """Begin running `pod`; returns once it is launched, not when it is ready."""
        ...

    async def stop(self, key: PodKey) -> None:
        """Stop the pod and forget it; returns once its processes are gone."""
        ...

    def running(self) -> dict[PodKey, str]:
        """Every pod this runtime holds (running, restarting or failed) -> revision hash."""
        ...

    def status(self, key: PodKey) -> PodReport | None: ...

    async def close(self, *, stop_pods: bool) -> None:
        """Stop watching; stop the pods too when `stop_pods` (else leave them running)."""
        ...


def pod_key(pod: objects_pb2.Pod) -> PodKey:
    return (namespace_or_default(pod.metadata.namespace), pod.metadata.name)


def revision_of(pod: objects_pb2.Pod) -> str:
    return pod.metadata.annotations.get(REVISION_ANNOTATION, "")


__all__ = [
    "REVISION_ANNOTATION",
    "Listener",
    "PodKey",
    "PodReport",
    "Runtime",
    "pod_key",
    "revision_of",
]
