"""Helpers for tests that talk to a real plane: wait on conditions, never sleep."""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import shutil
import subprocess
from collections.abc import Awaitable, Callable, Mapping, Sequence
from pathlib import Path

import pytest
import yaml

from ctrlplane._proto.v1 import events_pb2, objects_pb2
from ctrlplane.controller.feed import StateFeed
from ctrlplane.domain import protojson
from ctrlplane.domain.streams import node_stream
from ctrlplane.eventlog.base import EventStore, NewEvent

Predicate = Callable[[], bool | Awaitable[bool]]

POLL = 0.01  # seconds between checks of a predicate nothing can wake us for


async def _check(predicate: Predicate) -> bool:
    result = predicate()
    if inspect.isawaitable(result):
        result = await result
    return bool(result)


async def wait_until(
    predicate: Predicate,
    timeout: float = 10.0,  # noqa: ASYNC109 - a timeout is the point
    message: str = "",
    *,
    feed: StateFeed | None = None,
) -> None:
    """Wait until `predicate()` (sync or async) is true; fail the test after `timeout`.

    With `feed`, the predicate is re-checked after each folded batch (and at
    least every 0.1 s); otherwise it is polled every 10 ms, yielding to the loop.
    """
    try:
        async with asyncio.timeout(timeout):
            while not await _check(predicate):
                if feed is not None:
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(feed.changed(), 0.1)
                else:
                    await asyncio.sleep(POLL)
    except TimeoutError:
        raise AssertionError(message or f"condition not met within {timeout} s") from None


async def wait_for_event(
    source: EventStore | StateFeed,
    predicate: Callable[[events_pb2.Event], bool],
    timeout: float = 10.0,  # noqa: ASYNC109
    *,
    after_seq: int = 0,
    message: str = "",
) -> events_pb2.Event:
    """The first event in the log after `after_seq` that matches, waiting for it to come."""
    store = source.store if isinstance(source, StateFeed) else source
    after = after_seq
    try:
        async with asyncio.timeout(timeout):
            while True:
                events = await store.read(after)
                for event in events:
                    if predicate(event):
                        return event
                if events:
                    after = events[-1].seq
                await store.wait(after)
    except TimeoutError:
        raise AssertionError(message or f"no matching event within {timeout} s") from None


def kinds(events: list[events_pb2.Event]) -> list[str]:
    """The oneof kind of each event, e.g. ["daemon_set_applied", "pod_scheduled"]."""
    return [str(event.WhichOneof("kind")) for event in events]


def agent_fact(node_name: str, payload: events_pb2.Event, at: float) -> NewEvent:
    """A fact as the node's agent appends it: on node/<name>, by agent:<name>."""
    return NewEvent(node_stream(node_name), payload, f"agent:{node_name}", at)


# ---- building requests -------------------------------------------------------

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def manifest(data: Mapping[str, object]) -> objects_pb2.DaemonSet:
    """A DaemonSet message from a manifest as a client sends it (not defaulted)."""
    return protojson.decode(data, objects_pb2.DaemonSet())


def example(name: str = "fluentd-daemonset.yaml") -> objects_pb2.DaemonSet:
    """One of the seed's example manifests (examples/, verbatim copies)."""
    return manifest(yaml.safe_load((EXAMPLES / name).read_text()))


def daemon_set(
    name: str = "agent",
    *,
    image: str = "busybox:1",
    node_selector: Mapping[str, str] | None = None,
    strategy: str = "RollingUpdate",
    labels: Mapping[str, str] | None = None,
) -> objects_pb2.DaemonSet:
    """A small apps/v1 daemon set, for tests that do not care about the details."""
    match = dict(labels or {"app": name})
    data: dict[str, object] = {
        "apiVersion": "apps/v1",
        "kind": "DaemonSet",
        "metadata": {"name": name},
        "spec": {
            "selector": {"matchLabels": match},
            "updateStrategy": {"type": strategy},
            "template": {
                "metadata": {"labels": match},
                "spec": {
                    "containers": [{"name": "main", "image": image, "command": ["sleep", "1d"]}],
                    "nodeSelector": dict(node_selector or {}),
                },
            },
        },
    }
    return manifest(data)


def node(name: str, labels: Mapping[str, str] | None = None) -> objects_pb2.Node:
    obj = objects_pb2.Node()
    obj.metadata.name = name
    obj.metadata.labels.update(labels or {})
    return obj


# ---- a throwaway PKI for TLS tests ----------------------------------------------


def make_pki(directory: Path, clients: Sequence[str]) -> Path:
    """A test CA in `directory`, `plane.pem/.key` for 127.0.0.1, `<name>.pem/.key` per client.

    Each client certificate's CN is its name (an agent's names its node).
    Skips the calling test when the openssl command is not installed.
    """
    if shutil.which("openssl") is None:
        pytest.skip("openssl is needed to make test certificates")

    def openssl(*args: str) -> None:
        subprocess.run(["openssl", *args], cwd=directory, check=True, capture_output=True)

    def issue(name: str, extensions: str) -> None:
        (directory / f"{name}.ext").write_text(extensions)
        openssl(
            "req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
            "-keyout", f"{name}.key", "-out", f"{name}.csr", "-subj", f"/CN={name}",
        )  # fmt: skip
        openssl(
            "x509", "-req", "-in", f"{name}.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
            "-CAcreateserial", "-out", f"{name}.pem", "-days", "1", "-extfile", f"{name}.ext",
        )  # fmt: skip

    openssl(
        "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
        "-keyout", "ca.key", "-out", "ca.pem", "-days", "1", "-subj", "/CN=ctrlplane-test-ca",
        "-addext", "basicConstraints=critical,CA:TRUE",
        "-addext", "keyUsage=critical,keyCertSign,cRLSign",
    )  # fmt: skip
    issue("plane", "subjectAltName=IP:127.0.0.1,DNS:localhost\n")
    for name in clients:
        issue(name, "extendedKeyUsage=clientAuth\n")
    return directory
