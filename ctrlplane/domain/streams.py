"""Stream names of the log and the type name of an event."""

from __future__ import annotations

from ctrlplane._proto.v1 import events_pb2

DEFAULT_NAMESPACE = "default"


def namespace_or_default(namespace: str) -> str:
    """An unset (empty) namespace means the default one, as in Kubernetes."""
    return namespace or DEFAULT_NAMESPACE


DAEMON_SET_PREFIX = "daemonset/"
NODE_PREFIX = "node/"


def daemon_set_stream(namespace: str, name: str) -> str:
    return f"{DAEMON_SET_PREFIX}{namespace}/{name}"


def node_stream(name: str) -> str:
    return f"{NODE_PREFIX}{name}"


def daemon_set_key(stream: str) -> tuple[str, str] | None:
    """The (namespace, name) of a daemon-set stream (None: another kind of stream)."""
    if not stream.startswith(DAEMON_SET_PREFIX):
        return None
    namespace, _, name = stream[len(DAEMON_SET_PREFIX) :].partition("/")
    return namespace, name


def event_type(event: events_pb2.Event) -> str:
    """The event's kind as a type name, e.g. "DaemonSetApplied"."""
    kind = event.WhichOneof("kind")
    if kind is None:
        raise ValueError("event has no kind set")
    return type(getattr(event, kind)).__name__
