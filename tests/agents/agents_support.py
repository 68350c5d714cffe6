"""Helpers for the agent tests: pods from dicts, python commands, process checks."""

from __future__ import annotations

import contextlib
import json
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from google.protobuf import json_format

from agents.runtime.procs import alive, signal_group
from ctrlplane._proto.v1 import objects_pb2

PY = sys.executable


def pod(name: str, containers: list[dict[str, Any]], **spec: Any) -> objects_pb2.Pod:
    body = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "namespace": "default"},
        "spec": {"containers": containers, **spec},
    }
    return json_format.ParseDict(body, objects_pb2.Pod())


def sleeper(name: str = "main", **extra: Any) -> dict[str, Any]:
    """A container that runs until killed."""
    return {
        "name": name,
        "image": "python",
        "command": [PY, "-c", "import time\nwhile True: time.sleep(1)"],
        **extra,
    }


pid_alive = alive  # exists and is not a zombie


def kill_group(pid: int) -> None:
    signal_group(pid, signal.SIGKILL)


def daemon_set(name: str, containers: list[dict[str, Any]] | None = None, **spec: Any) -> Any:
    """A DaemonSet (objects_pb2) selecting app=<name>, with sleeper containers by default."""
    body = {
        "apiVersion": "apps/v1",
        "kind": "DaemonSet",
        "metadata": {"name": name, "namespace": "default"},
        "spec": {
            "selector": {"matchLabels": {"app": name}},
            "template": {
                "metadata": {"labels": {"app": name}},
                "spec": {"containers": containers or [sleeper()], **spec},
            },
        },
    }
    return json_format.ParseDict(body, objects_pb2.DaemonSet())


def pods_of(data_dir: Path) -> dict[str, int]:
    """Pod name -> pid of its (first) container, from the agent's saved records."""
    pids: dict[str, int] = {}
    for record in (data_dir / "pods").glob("*/pod.json"):
        with contextlib.suppress(OSError, ValueError):
            data = json.loads(record.read_text())
            containers = list(data.get("containers", {}).values())
            if containers and containers[0]["pid"]:
                pids[data["pod"]["metadata"]["name"]] = containers[0]["pid"]
    return pids


def processes_of_pod(name: str) -> list[int]:
    """Every live process whose environment says it belongs to pod `name`."""
    needle = f"CTRLPLANE_POD_NAME={name}\0".encode()
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError):
                if needle in (entry / "environ").read_bytes() and pid_alive(int(entry.name)):
                    found.append(int(entry.name))
    return found


class AgentProcs:
    """Real `python -m agents.main` processes; at the end, they and their pods are killed."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.procs: list[subprocess.Popen[bytes]] = []
        self.data_dirs: set[Path] = set()

    def data_dir(self, node: str) -> Path:
        return self.root / f"agent-{node}"

    def start(self, server: str, node: str, *extra: str) -> subprocess.Popen[bytes]:
        data = self.data_dir(node)
        data.mkdir(parents=True, exist_ok=True)
        self.data_dirs.add(data)
        log = (self.root / f"agent-{node}.log").open("ab")
        proc = subprocess.Popen(
            [
                PY, "-m", "agents.main",
                "--server", server,
                "--node-name", node,
                "--data-dir", str(data),
                "--restart-backoff", "0.1",
                "--reconnect-cap", "0.5",
                *extra,
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
        )  # fmt: skip
        log.close()
        self.procs.append(proc)
        return proc

    def log(self, node: str) -> str:
        path = self.root / f"agent-{node}.log"
        return path.read_text() if path.exists() else ""

    def cleanup(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                proc.kill()
            proc.wait()
        for data in self.data_dirs:
            for pid in pods_of(data).values():
                kill_group(pid)


@contextlib.contextmanager
def agent_processes(root: Path) -> Iterator[AgentProcs]:
    procs = AgentProcs(root)
    try:
        yield procs
    finally:
        procs.cleanup()
