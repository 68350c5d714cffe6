"""A pod's place on disk: sandbox dir, log files, volumes, environment, saved record.

Layout under the agent's data dir:
    pods/<namespace>_<name>/            the sandbox: every container's cwd (and HOME)
    pods/<namespace>_<name>/pod.json    what runs there (spec, pids, start times)
    pods/<namespace>_<name>/<mountPath> a symlink to the volume's host path
    logs/<namespace>_<name>/<container>.log   stdout and stderr, appended

Each volume is also announced to every container as an environment variable
CTRLPLANE_VOLUME_<NAME>=<host path> (name upper-cased, non-alphanumerics as _).
It never starts or watches processes.
"""

from __future__ import annotations

import json
import os
import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from google.protobuf import json_format

from ctrlplane._proto.v1 import objects_pb2
from ctrlplane.domain.streams import namespace_or_default

PodKey = tuple[str, str]

# Environment a process inherits from the agent; the rest comes from the pod.
INHERITED_ENV = ("PATH", "LANG", "LC_ALL", "TZ", "TMPDIR")


class VolumeError(Exception):
    """A volume cannot be provided (a missing hostPath): the pod fails with this message."""


def pod_dir_name(key: PodKey) -> str:
    return f"{key[0]}_{key[1]}"


def volume_env_name(name: str) -> str:
    return "CTRLPLANE_VOLUME_" + re.sub(r"[^A-Za-z0-9]", "_", name).upper()


@dataclass(slots=True)
class ContainerRecord:
    pid: int = 0
    ticks: int = 0
    restart_count: int = 0


@dataclass(slots=True)
class PodRecord:
    """What the runtime persists so a restarted agent can adopt its processes."""

    pod: objects_pb2.Pod
    revision_hash: str
    containers: dict[str, ContainerRecord] = field(default_factory=dict)

    def to_json(self) -> str:
        data: dict[str, Any] = {
            "pod": json_format.MessageToDict(self.pod),
            "revisionHash": self.revision_hash,
            "containers": {
                name: {"pid": c.pid, "ticks": c.ticks, "restartCount": c.restart_count}
                for name, c in self.containers.items()
            },
        }
        return json.dumps(data, indent=1)

    @classmethod
    def from_json(cls, text: str) -> PodRecord:
        data = json.loads(text)
        pod = json_format.ParseDict(data["pod"], objects_pb2.Pod())
        containers = {
            name: ContainerRecord(c["pid"], c["ticks"], c["restartCount"])
            for name, c in data.get("containers", {}).items()
        }
        return cls(pod=pod, revision_hash=data["revisionHash"], containers=containers)


class Sandbox:
    def __init__(self, data_dir: Path, key: PodKey) -> None:
        self.key = key
        self.root = data_dir / "pods" / pod_dir_name(key)
        self.logs = data_dir / "logs" / pod_dir_name(key)
        self.record_path = self.root / "pod.json"

    def create(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        self.logs.mkdir(parents=True, exist_ok=True)

    def save(self, record: PodRecord) -> None:
        # Write then rename: a crash never leaves a half-written record.
        tmp = self.record_path.with_suffix(".tmp")
        tmp.write_text(record.to_json())
        os.replace(tmp, self.record_path)

    def remove(self) -> None:
        """Forget the pod: drop its sandbox (logs are kept for a post-mortem)."""
        shutil.rmtree(self.root, ignore_errors=True)

    def log_path(self, container: str) -> Path:
        return self.logs / f"{container}.log"

    def volumes(self, spec: objects_pb2.PodSpec) -> dict[str, Path]:
        """Check or create every volume; name -> host path. Raises VolumeError."""
        paths: dict[str, Path] = {}
        for volume in spec.volumes:
            if volume.HasField("host_path"):
                paths[volume.name] = _host_path(volume.name, volume.host_path)
            else:  # emptyDir (and anything else): a directory of the pod's own
                path = self.root / ".volumes" / volume.name
                path.mkdir(parents=True, exist_ok=True)
                paths[volume.name] = path
        return paths

    def mount(self, container: objects_pb2.Container, volumes: dict[str, Path]) -> None:
        """Make each volume reachable at sandbox/<mountPath> through a symlink."""
        for mount in container.volume_mounts:
            if mount.name not in volumes:
                raise VolumeError(
                    f"container {container.name!r} mounts volume {mount.name!r}, "
                    "which the pod does not define"
                )
            target = volumes[mount.name] / mount.sub_path if mount.sub_path else volumes[mount.name]
            link = self.root / mount.mount_path.lstrip("/")
            link.parent.mkdir(parents=True, exist_ok=True)
            if link.is_symlink() or link.is_file():
                link.unlink()
            elif link.is_dir():
                shutil.rmtree(link)
            link.symlink_to(target)

    def env(
        self,
        pod: objects_pb2.Pod,
        container: objects_pb2.Container,
        volumes: dict[str, Path],
        node_name: str,
    ) -> dict[str, str]:
        env = {k: os.environ[k] for k in INHERITED_ENV if k in os.environ}
        env.update(
            HOME=str(self.root),
            CTRLPLANE_SANDBOX=str(self.root),
            CTRLPLANE_POD_NAME=pod.metadata.name,
            CTRLPLANE_POD_NAMESPACE=namespace_or_default(pod.metadata.namespace),
            CTRLPLANE_NODE_NAME=node_name,
        )
        env.update({volume_env_name(name): str(path) for name, path in volumes.items()})
        env.update({e.name: e.value for e in container.env})
        return env

    def cwd(self, container: objects_pb2.Container) -> Path:
        if not container.working_dir:
            return self.root
        path = self.root / container.working_dir.lstrip("/")
        path.mkdir(parents=True, exist_ok=True)
        return path


def _host_path(name: str, source: objects_pb2.HostPathVolumeSource) -> Path:
    path = Path(source.path)
    kind = source.type
    if kind == "DirectoryOrCreate":
        path.mkdir(parents=True, exist_ok=True)
    elif kind == "FileOrCreate":
        path.parent.mkdir(parents=True, exist_ok=True)
        path.touch(exist_ok=True)
    if not path.exists():
        raise VolumeError(
            f"hostPath volume {name!r}: path {str(path)!r} does not exist on this node"
        )
    if kind == "Directory" and not path.is_dir():
        raise VolumeError(f"hostPath volume {name!r}: {str(path)!r} is not a directory")
    if kind == "File" and not path.is_file():
        raise VolumeError(f"hostPath volume {name!r}: {str(path)!r} is not a file")
    return path
