"""Static pods: a manifest directory the agent runs on its own (kubelet's --pod-manifest-path).

Every `*.yaml`, `*.yml` and `*.json` file in the directory whose name does not
start with a dot holds one Pod (v1). The directory is watched with
watchfiles; on any change it is scanned again and compared with what it held:
a new file starts its pod, a changed one replaces it, a removed one stops it.
An invalid file is logged and reported, and changes nothing else (a file
that was valid before keeps its last good pod running). Each pod runs under
its mirror's name `<pod>-<node>`, which is what the plane lists.

It parses and reports; it never starts processes (the agent's plan does).
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import watchfiles

from agents.runtime import REVISION_ANNOTATION, PodKey, PodReport
from ctrlplane._proto.v1 import agent_pb2, objects_pb2
from ctrlplane.domain.errors import InvalidSpec
from ctrlplane.domain.manifests import load_manifests
from ctrlplane.domain.streams import namespace_or_default

log = logging.getLogger(__name__)

SUFFIXES = (".yaml", ".yml", ".json")
FILE_ANNOTATION = "ctrlplane.io/static-file"
MIRROR_ANNOTATION = "kubernetes.io/config.mirror"


@dataclass(slots=True)
class _File:
    text: str
    pod: objects_pb2.Pod | None  # the last good pod from this file
    error: str = ""


def is_manifest(path: Path) -> bool:
    return path.is_file() and not path.name.startswith(".") and path.suffix in SUFFIXES


def mirror_of(pod: objects_pb2.Pod, node_name: str, file: Path) -> objects_pb2.Pod:
    """The pod as this node runs and reports it: named <pod>-<node>, bound to the node."""
    mirror = objects_pb2.Pod()
    mirror.CopyFrom(pod)
    mirror.api_version, mirror.kind = "v1", "Pod"
    mirror.metadata.name = f"{pod.metadata.name}-{node_name}"
    mirror.metadata.namespace = namespace_or_default(pod.metadata.namespace)
    mirror.spec.node_name = node_name
    digest = hashlib.sha256(pod.SerializeToString(deterministic=True)).hexdigest()[:10]
    mirror.metadata.annotations[REVISION_ANNOTATION] = digest
    mirror.metadata.annotations[MIRROR_ANNOTATION] = digest
    mirror.metadata.annotations[FILE_ANNOTATION] = str(file)
    mirror.ClearField("status")
    return mirror


def _with_status(mirror: objects_pb2.Pod, report: PodReport | None) -> objects_pb2.Pod:
    out = objects_pb2.Pod()
    out.CopyFrom(mirror)
    report = report or PodReport()
    out.status.phase = report.phase
    out.status.message = report.message
    out.status.reason = report.reason
    out.status.conditions.add(type="Ready", status="True" if report.ready else "False")
    for i, c in enumerate(out.spec.containers):
        out.status.container_statuses.add(
            name=c.name,
            ready=report.ready,
            started=report.phase == "Running",
            restart_count=report.restart_count if i == 0 else 0,
        )
    return out


class StaticPods:
    """The static pods of one node, kept equal to its manifest directory."""

    def __init__(
        self,
        directory: Path,
        node_name: str,
        on_change: Callable[[], None] = lambda: None,
        *,
        debounce_ms: int = 300,
    ) -> None:
        self.directory = directory
        self.node_name = node_name
        self.on_change = on_change
        self.debounce_ms = debounce_ms
        self._files: dict[Path, _File] = {}
        self._status: dict[PodKey, PodReport] = {}
        self._pending: list[agent_pb2.StaticPodUpdate] = []
        self.ever: set[PodKey] = set()  # every key ever static here (stops allowed pre-sync)

    @property
    def pods(self) -> dict[PodKey, objects_pb2.Pod]:
        pods: dict[PodKey, objects_pb2.Pod] = {}
        for path, f in sorted(self._files.items()):
            if f.pod is not None:
                mirror = mirror_of(f.pod, self.node_name, path)
                pods[(mirror.metadata.namespace, mirror.metadata.name)] = mirror
        return pods

    async def watch(self) -> None:
        """Scan now, then after every change in the directory, forever.

        A directory that disappears (or a watcher error) is logged and watched
        again a second later; it never stops the agent.
        """
        while True:
            try:
                self.directory.mkdir(parents=True, exist_ok=True)
                self.scan()
                async for _ in watchfiles.awatch(
                    self.directory, debounce=self.debounce_ms, recursive=False
                ):
                    self.scan()
            except (OSError, RuntimeError) as exc:
                log.error("watching static pod manifests in %s: %s", self.directory, exc)
            await asyncio.sleep(1.0)

    def scan(self) -> None:
        """Compare the directory with what was loaded; queue reports; call on_change."""
        before = self.pods
        seen: set[Path] = set()
        for path in sorted(self.directory.iterdir()):
            if not is_manifest(path):
                continue
            seen.add(path)
            try:
                text = path.read_text()
            except OSError as exc:
                self._reject(path, "", f"cannot read: {exc}")
                continue
            known = self._files.get(path)
            if known is not None and known.text == text:
                continue
            self._load(path, text, known)
        for path in sorted(set(self._files) - seen):
            del self._files[path]
        after = self.pods
        for key in sorted(before.keys() - after.keys()):
            self._status.pop(key, None)
            ref = agent_pb2.PodRef(namespace=key[0], name=key[1])
            self._pending.append(agent_pb2.StaticPodUpdate(removed=ref))
        for key, mirror in sorted(after.items()):
            if before.get(key) != mirror:
                self._pending.append(self._report(key, mirror))
        self.ever.update(after)
        if before != after or self._pending:
            self.on_change()

    def _load(self, path: Path, text: str, known: _File | None) -> None:
        try:
            manifests = load_manifests(text, str(path))
            if len(manifests) != 1 or manifests[0].kind != "Pod":
                raise ValueError("a static pod file must hold exactly one Pod (apiVersion v1)")
            pod = manifests[0].obj
            assert isinstance(pod, objects_pb2.Pod)
            name = pod.metadata.name
            for other, f in self._files.items():
                if other != path and f.pod is not None and f.pod.metadata.name == name:
                    raise ValueError(f"pod {name!r} is already defined in {other.name}")
        except (InvalidSpec, ValueError) as exc:
            self._reject(path, text, str(exc), known)
            return
        self._files[path] = _File(text=text, pod=pod)

    def _reject(self, path: Path, text: str, error: str, known: _File | None = None) -> None:
        log.error("static pod manifest %s rejected: %s", path, error)
        self._files[path] = _File(text=text, pod=known.pod if known else None, error=error)
        update = agent_pb2.StaticPodUpdate(
            rejected=agent_pb2.StaticPodRejection(error=error), file=str(path)
        )
        self._pending.append(update)

    def _report(self, key: PodKey, mirror: objects_pb2.Pod) -> agent_pb2.StaticPodUpdate:
        file = mirror.metadata.annotations.get(FILE_ANNOTATION, "")
        return agent_pb2.StaticPodUpdate(
            reported=_with_status(mirror, self._status.get(key)), file=file
        )

    def set_status(self, key: PodKey, report: PodReport) -> bool:
        """A static pod's status changed: queue a new mirror report. False if not static."""
        mirror = self.pods.get(key)
        if mirror is None:
            return False
        if self._status.get(key) != report:
            self._status[key] = report
            self._pending.append(self._report(key, mirror))
        return True

    def updates_for_plane(self, *, full: bool) -> list[agent_pb2.StaticPodUpdate]:
        pending, self._pending = self._pending, []
        if not full:
            return pending
        # A new stream: every current mirror again (the plane drops repeats),
        # plus the files that are still rejected.
        updates = [self._report(key, mirror) for key, mirror in sorted(self.pods.items())]
        for path, f in sorted(self._files.items()):
            if f.error:
                updates.append(
                    agent_pb2.StaticPodUpdate(
                        rejected=agent_pb2.StaticPodRejection(error=f.error), file=str(path)
                    )
                )
        return updates
