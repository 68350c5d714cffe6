"""The process runtime: each container's command runs as a real child process.

One supervisor task per pod restarts its containers by the pod's
restartPolicy with Kubernetes' back-off (base doubling to a cap, reset after
a long enough run), runs readiness probes, and reports the pod's status on
every change. Processes live in their own session so a stop reaches their
whole group, and their pids are saved in the sandbox so a restarted agent
adopts them instead of starting duplicates. Images are never pulled: a
container without `command` fails the pod. A supervisor that crashes (a bug,
a full disk) is logged and fails its pod (reason SupervisorCrashed); the pod's
processes stay recorded, so stopping the pod still kills them.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from agents.runtime import Listener, PodKey, PodReport, pod_key, procs
from agents.runtime.probes import Prober, has_probe
from agents.runtime.sandbox import ContainerRecord, PodRecord, Sandbox, VolumeError
from ctrlplane._proto.v1 import objects_pb2

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Backoff:
    """Kubernetes' crash back-off: 10 s doubling to 5 min, reset after 10 min running."""

    base: float = 10.0
    cap: float = 300.0
    reset_after: float = 600.0

    def delay(self, crashes: int) -> float:
        return min(self.cap, self.base * float(2**crashes))


def _ignore(key: PodKey, report: PodReport) -> None:
    pass


def _detach(popen: subprocess.Popen[bytes]) -> None:
    # The child outlives the agent on purpose (kubelet semantics); tell Popen
    # not to warn about it or to reap it behind our back.
    popen.returncode = 0


def _describe(exc: BaseException) -> str:
    """The leaf errors of a crash (a TaskGroup wraps its children's in a group)."""
    if isinstance(exc, BaseExceptionGroup):
        return "; ".join(_describe(e) for e in exc.exceptions)
    return str(exc) or type(exc).__name__


class _Container:
    def __init__(self, spec: objects_pb2.Container, record: ContainerRecord) -> None:
        self.spec = spec
        self.record = record
        self.popen: subprocess.Popen[bytes] | None = None
        self.state = "waiting"  # waiting, running, terminated
        self.started = False
        self.ready = False
        self.exit_code: int | None = None
        self.prober: Prober | None = None
        self.reason = ""
        self.message = ""


class _Pod:
    """One pod's supervisor: its containers, their processes, its status."""

    def __init__(self, rt: ProcessRuntime, record: PodRecord) -> None:
        self.rt = rt
        self.record = record
        self.key = pod_key(record.pod)
        self.sandbox = Sandbox(rt.data_dir, self.key)
        self.containers = [
            _Container(c, record.containers.setdefault(c.name, ContainerRecord()))
            for c in record.pod.spec.containers
        ]
        self.failure = ""
        self.failure_reason = "ContainerCannotRun"
        self.task: asyncio.Task[None] | None = None

    # ---- status -----------------------------------------------------------

    def report(self) -> PodReport:
        restarts = sum(c.record.restart_count for c in self.containers)
        if self.failure:
            return PodReport("Failed", False, restarts, self.failure, self.failure_reason)
        if self.containers and all(c.state == "terminated" for c in self.containers):
            ok = all(c.exit_code == 0 for c in self.containers)
            return PodReport("Succeeded" if ok else "Failed", False, restarts)
        phase = "Running" if any(c.started for c in self.containers) else "Pending"
        ready = bool(self.containers) and all(c.ready for c in self.containers)
        waiting = next((c for c in self.containers if c.state == "waiting" and c.message), None)
        if waiting is not None:
            return PodReport(phase, ready, restarts, waiting.message, waiting.reason)
        return PodReport(phase, ready, restarts)

    def changed(self) -> None:
        # Only the pod the runtime holds under this key reports: a stopped one
        # (or one replaced by a restart of the same key) stays quiet.
        if self.rt._pods.get(self.key) is self:
            self.rt._changed(self.key, self.report())

    def supervisor_done(self, task: asyncio.Task[None]) -> None:
        """The supervisor ended on its own: a crash fails the pod (its processes stay
        recorded, so stopping the pod still kills them)."""
        if task.cancelled() or task.exception() is None:
            return
        exc = task.exception()
        assert exc is not None
        log.error("pod %s/%s: supervisor crashed", *self.key, exc_info=exc)
        self.failure = f"the agent's supervisor crashed: {_describe(exc)}"
        self.failure_reason = "SupervisorCrashed"
        self.changed()

    # ---- supervision --------------------------------------------------------

    async def supervise(self) -> None:
        spec = self.record.pod.spec
        for c in spec.containers:
            if not c.command:
                self.failure = (
                    f"container {c.name} has no command: ctrlplane runs processes, "
                    "it does not pull images"
                )
        if not spec.containers:
            self.failure = "the pod has no containers"
        if not self.failure:
            try:
                self.sandbox.create()
                volumes = self.sandbox.volumes(spec)
                for c in spec.containers:
                    self.sandbox.mount(c, volumes)
            except (VolumeError, OSError) as exc:
                self.failure = str(exc)
        if self.failure:
            log.warning("pod %s/%s failed: %s", *self.key, self.failure)
            self.changed()
            return
        self.changed()
        async with asyncio.TaskGroup() as tg:
            for container in self.containers:
                tg.create_task(self._run(container, volumes))

    def _spawn(self, c: _Container, volumes: dict[str, Path]) -> subprocess.Popen[bytes]:
        env = self.sandbox.env(self.record.pod, c.spec, volumes, self.rt.node_name)
        with self.sandbox.log_path(c.spec.name).open("ab") as out:
            return subprocess.Popen(
                [*c.spec.command, *c.spec.args],
                cwd=self.sandbox.cwd(c.spec),
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    async def _run(self, c: _Container, volumes: dict[str, Path]) -> None:
        policy = self.record.pod.spec.restart_policy or "Always"
        crashes = 0
        while True:
            pid = c.record.pid
            adopted = pid > 0 and procs.alive(pid, c.record.ticks)
            failed = ""
            if not adopted:
                if pid > 0:  # it died while nobody watched: that is a restart
                    c.record.restart_count += 1
                try:
                    c.popen = self._spawn(c, volumes)
                except OSError as exc:
                    c.popen = None
                    code: int | None = 127
                    failed = f": cannot start {c.spec.command[0]!r}: {exc.strerror or exc}"
                    log.warning("pod %s/%s: container %s%s", *self.key, c.spec.name, failed)
                else:
                    pid = c.popen.pid
                    c.record.pid, c.record.ticks = pid, procs.start_ticks(pid) or 0
                    self.sandbox.save(self.record)
            if adopted or c.popen is not None:
                code, ran = await self._watch(c, pid, volumes)
                if ran >= self.rt.backoff.reset_after:
                    crashes = 0
            c.record.pid = 0
            self.sandbox.save(self.record)
            if policy == "Never" or (policy == "OnFailure" and code == 0):
                c.state, c.exit_code, c.message, c.reason = "terminated", code, "", ""
                self.changed()
                return
            delay = self.rt.backoff.delay(crashes)
            crashes += 1
            c.state, c.reason = "waiting", "CrashLoopBackOff"
            c.message = (
                f"back-off {delay:g}s restarting failed container {c.spec.name} "
                f"(exit code {code if code is not None else 'unknown'}){failed}"
            )
            self.changed()
            await asyncio.sleep(delay)
            c.record.restart_count += 1

    async def _watch(
        self, c: _Container, pid: int, volumes: dict[str, Path]
    ) -> tuple[int | None, float]:
        """From start to exit: mark running, probe readiness; (exit code, seconds run)."""
        c.state, c.started, c.message, c.reason = "running", True, "", ""
        started = time.monotonic()
        probe = c.spec.readiness_probe
        prober_task: asyncio.Task[None] | None = None
        if has_probe(probe):
            c.ready = False

            def on_ready(ready: bool) -> None:
                c.ready = ready
                self.changed()

            prober = c.prober = Prober(
                probe,
                cwd=str(self.sandbox.cwd(c.spec)),
                env=self.sandbox.env(self.record.pod, c.spec, volumes, self.rt.node_name),
                named_ports={p.name: p.container_port for p in c.spec.ports if p.name},
                on_change=on_ready,
            )
            prober_task = asyncio.create_task(prober.run())
        else:
            c.ready = True
        self.changed()
        try:
            code = await procs.wait_exit(pid, c.popen)
        finally:
            if prober_task is not None:
                prober_task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await prober_task
        c.popen = None
        c.ready = False
        return code, time.monotonic() - started

    async def stop(self, *, kill: bool) -> None:
        try:
            if self.task is not None:
                self.task.cancel()
                # wait, not await: a supervisor that crashed was logged and
                # reported by supervisor_done; it must not stop the kill below.
                await asyncio.wait([self.task])
        finally:
            await self._end(kill=kill)

    async def _end(self, *, kill: bool) -> None:
        if not kill:
            for c in self.containers:
                if c.popen is not None:
                    _detach(c.popen)
            return
        grace = float(self.record.pod.spec.termination_grace_period_seconds or 30)
        grace = min(grace, self.rt.max_grace)
        await asyncio.gather(
            *(
                procs.terminate(c.record.pid, grace, c.popen)
                for c in self.containers
                if c.record.pid > 0
            )
        )
        self.sandbox.remove()


class ProcessRuntime:
    """Runs pods as child processes under `data_dir` (see sandbox.py for the layout)."""

    def __init__(
        self,
        data_dir: Path,
        node_name: str,
        *,
        backoff: Backoff | None = None,
        max_grace: float = 30.0,
    ) -> None:
        self.data_dir = data_dir
        self.node_name = node_name
        self.backoff = backoff or Backoff()
        self.max_grace = max_grace
        self._listener: Listener = _ignore
        self._pods: dict[PodKey, _Pod] = {}
        self._status: dict[PodKey, PodReport] = {}

    def set_listener(self, listener: Listener) -> None:
        self._listener = listener

    def _changed(self, key: PodKey, report: PodReport) -> None:
        if key not in self._pods or self._status.get(key) == report:
            return
        self._status[key] = report
        self._listener(key, report)

    def adopt(self) -> list[PodKey]:
        """Pick up the pods a previous agent left behind (their live processes are kept)."""
        adopted = []
        for path in sorted((self.data_dir / "pods").glob("*/pod.json")):
            try:
                record = PodRecord.from_json(path.read_text())
            except (OSError, ValueError, KeyError) as exc:
                log.warning("ignoring unreadable pod record %s: %s", path, exc)
                continue
            self._launch(record)
            adopted.append(pod_key(record.pod))
        return adopted

    def _launch(self, record: PodRecord) -> None:
        pod = _Pod(self, record)
        self._pods[pod.key] = pod
        pod.task = asyncio.create_task(pod.supervise(), name=f"pod {pod.key[0]}/{pod.key[1]}")
        pod.task.add_done_callback(pod.supervisor_done)

    async def start(self, pod: objects_pb2.Pod, revision_hash: str) -> None:
        key = pod_key(pod)
        if key in self._pods:
            await self.stop(key)
        record = PodRecord(pod=pod, revision_hash=revision_hash)
        sandbox = Sandbox(self.data_dir, key)
        sandbox.create()
        sandbox.save(record)
        self._launch(record)

    async def stop(self, key: PodKey) -> None:
        pod = self._pods.pop(key, None)
        self._status.pop(key, None)
        if pod is not None:
            await pod.stop(kill=True)

    def running(self) -> dict[PodKey, str]:
        return {key: pod.record.revision_hash for key, pod in self._pods.items()}

    def status(self, key: PodKey) -> PodReport | None:
        return self._status.get(key)

    def probes_run(self, key: PodKey) -> int:
        """Readiness checks done for the pod's current processes (for tests)."""
        pod = self._pods.get(key)
        return sum(c.prober.runs for c in pod.containers if c.prober) if pod else 0

    def pids(self, key: PodKey) -> dict[str, int]:
        """Container name -> current pid (0 when not running); for tests and tools."""
        pod = self._pods.get(key)
        return {} if pod is None else {c.spec.name: c.record.pid for c in pod.containers}

    async def close(self, *, stop_pods: bool) -> None:
        pods = list(self._pods.values())
        self._pods.clear()
        await asyncio.gather(*(pod.stop(kill=stop_pods) for pod in pods))
