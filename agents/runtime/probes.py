"""Readiness probes as Kubernetes runs them: exec, httpGet and tcpSocket.

`probe_once` runs one check; `Prober` repeats it on the probe's period and
applies the success/failure thresholds, calling back when readiness flips.
Defaults are the Kubernetes ones (initialDelaySeconds 0, periodSeconds 10,
timeoutSeconds 1, successThreshold 1, failureThreshold 3). A process has no
pod IP of its own, so hosts default to 127.0.0.1.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from ctrlplane._proto.v1 import objects_pb2

DEFAULT_HOST = "127.0.0.1"


@dataclass(frozen=True, slots=True)
class ProbeTiming:
    initial_delay: float
    period: float
    timeout: float
    success_threshold: int
    failure_threshold: int


def timing(probe: objects_pb2.Probe) -> ProbeTiming:
    return ProbeTiming(
        initial_delay=max(probe.initial_delay_seconds, 0),
        period=probe.period_seconds if probe.period_seconds > 0 else 10,
        timeout=probe.timeout_seconds if probe.timeout_seconds > 0 else 1,
        success_threshold=probe.success_threshold if probe.success_threshold > 0 else 1,
        failure_threshold=probe.failure_threshold if probe.failure_threshold > 0 else 3,
    )


def has_probe(probe: objects_pb2.Probe) -> bool:
    return bool(probe.exec.command) or probe.HasField("http_get") or probe.HasField("tcp_socket")


def resolve_port(port: str, named: Mapping[str, int]) -> int:
    """An int-or-string port: a number, or the name of one of the container's ports."""
    if port.isdigit():
        return int(port)
    if port in named:
        return named[port]
    raise ValueError(f"probe port {port!r} is neither a number nor a named container port")


async def _exec(command: list[str], cwd: str, env: Mapping[str, str], limit: float) -> bool:
    proc = await asyncio.create_subprocess_exec(
        *command,
        cwd=cwd,
        env=dict(env),
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        async with asyncio.timeout(limit):
            return await proc.wait() == 0
    except TimeoutError:
        with contextlib.suppress(ProcessLookupError):
            proc.kill()
        await proc.wait()
        return False


async def _tcp(host: str, port: int, limit: float) -> bool:
    async with asyncio.timeout(limit):
        _, writer = await asyncio.open_connection(host, port)
    writer.close()
    with contextlib.suppress(OSError):
        await writer.wait_closed()
    return True


async def _http(action: objects_pb2.HTTPGetAction, port: int, limit: float) -> bool:
    if action.scheme.upper() == "HTTPS":
        raise ValueError("httpGet with scheme HTTPS is not supported by the process runtime")
    host = action.host or DEFAULT_HOST
    path = action.path or "/"
    headers = {"Host": f"{host}:{port}", "User-Agent": "ctrlplane-probe/1", "Connection": "close"}
    headers.update({h.name: h.value for h in action.http_headers})
    request = f"GET {path} HTTP/1.1\r\n" + "".join(f"{k}: {v}\r\n" for k, v in headers.items())
    async with asyncio.timeout(limit):
        reader, writer = await asyncio.open_connection(host, port)
        try:
            writer.write((request + "\r\n").encode())
            await writer.drain()
            status_line = await reader.readline()
        finally:
            writer.close()
    parts = status_line.split()
    # Kubernetes: any code from 200 to 399 is a success.
    return len(parts) >= 2 and parts[1].isdigit() and 200 <= int(parts[1]) < 400


async def probe_once(
    probe: objects_pb2.Probe,
    *,
    cwd: str,
    env: Mapping[str, str],
    named_ports: Mapping[str, int],
) -> bool:
    """One check; any error (refused, timeout, bad port) is a failure, never a crash."""
    t = timing(probe)
    try:
        if probe.exec.command:
            return await _exec(list(probe.exec.command), cwd, env, t.timeout)
        if probe.HasField("http_get"):
            port = resolve_port(probe.http_get.port, named_ports)
            return await _http(probe.http_get, port, t.timeout)
        if probe.HasField("tcp_socket"):
            port = resolve_port(probe.tcp_socket.port, named_ports)
            return await _tcp(probe.tcp_socket.host or DEFAULT_HOST, port, t.timeout)
    except (OSError, TimeoutError, ValueError):
        return False
    return True


class Prober:
    """Runs one readiness probe until cancelled; `on_change(ready)` on every flip."""

    def __init__(
        self,
        probe: objects_pb2.Probe,
        *,
        cwd: str,
        env: Mapping[str, str],
        named_ports: Mapping[str, int],
        on_change: Callable[[bool], None],
    ) -> None:
        self._probe = probe
        self._cwd = cwd
        self._env = env
        self._ports = named_ports
        self._on_change = on_change
        self.ready = False
        self.runs = 0  # checks done (for tests and diagnostics)

    async def run(self) -> None:
        t = timing(self._probe)
        await asyncio.sleep(t.initial_delay)
        successes = failures = 0
        while True:
            ok = await probe_once(
                self._probe, cwd=self._cwd, env=self._env, named_ports=self._ports
            )
            self.runs += 1
            if ok:
                successes, failures = successes + 1, 0
                if not self.ready and successes >= t.success_threshold:
                    self.ready = True
                    self._on_change(True)
            else:
                successes, failures = 0, failures + 1
                if self.ready and failures >= t.failure_threshold:
                    self.ready = False
                    self._on_change(False)
            await asyncio.sleep(t.period)
