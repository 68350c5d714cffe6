"""The process runtime with real child processes: start, restart, probes, adopt."""

from __future__ import annotations

import errno
import os
import signal
import socket
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from agents_support import PY, kill_group, pid_alive, pod, sleeper
from support import wait_until

from agents.runtime import PodReport
from agents.runtime.process import Backoff, ProcessRuntime
from agents.runtime.sandbox import PodRecord, Sandbox

KEY = ("default", "p")
FAST = Backoff(base=0.05, cap=0.2, reset_after=600)


@pytest.fixture
async def runtime(tmp_path: Path) -> AsyncIterator[ProcessRuntime]:
    rt = ProcessRuntime(tmp_path / "data", "node-a", backoff=FAST, max_grace=2)
    yield rt
    await rt.close(stop_pods=True)


def status(rt: ProcessRuntime) -> PodReport:
    return rt.status(KEY) or PodReport(phase="?")


async def test_pod_runs_as_a_process_with_its_env_volume_and_logs(
    runtime: ProcessRuntime, tmp_path: Path
) -> None:
    host = tmp_path / "varlog"
    host.mkdir()
    (host / "app.log").write_text("hello from the host\n")
    script = (
        "import os, pathlib, time\n"
        "print(os.environ['GREETING'], os.environ['CTRLPLANE_VOLUME_VARLOG'], flush=True)\n"
        "print(pathlib.Path('var/log/app.log').read_text(), flush=True)\n"
        "while True: time.sleep(1)"
    )
    spec = pod(
        "p",
        [
            {
                "name": "main",
                "command": [PY, "-c", script],
                "env": [{"name": "GREETING", "value": "hi"}],
                "volumeMounts": [{"name": "varlog", "mountPath": "/var/log"}],
            }
        ],
        volumes=[{"name": "varlog", "hostPath": {"path": str(host)}}],
    )
    await runtime.start(spec, "rev1")
    await wait_until(lambda: status(runtime) == PodReport("Running", True, 0))
    log = tmp_path / "data" / "logs" / "default_p" / "main.log"
    await wait_until(lambda: log.exists() and "hello from the host" in log.read_text())
    assert f"hi {host}" in log.read_text()
    pid = runtime.pids(KEY)["main"]
    assert os.getpgid(pid) == pid  # its own session: a stop reaches the whole group
    await runtime.stop(KEY)
    assert not pid_alive(pid)
    assert runtime.running() == {}


async def test_a_killed_process_is_restarted_and_counted(runtime: ProcessRuntime) -> None:
    await runtime.start(pod("p", [sleeper()]), "rev1")
    await wait_until(lambda: status(runtime).ready)
    first = runtime.pids(KEY)["main"]
    os.killpg(first, signal.SIGKILL)
    await wait_until(lambda: status(runtime).restart_count == 1 and status(runtime).ready)
    second = runtime.pids(KEY)["main"]
    assert second != first
    assert pid_alive(second)


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        pytest.param(
            pod("p", [{"name": "web", "image": "nginx"}]),
            "container web has no command: ctrlplane runs processes, it does not pull images",
            id="no-command",
        ),
        pytest.param(
            pod(
                "p",
                [sleeper(volumeMounts=[{"name": "data", "mountPath": "/data"}])],
                volumes=[{"name": "data", "hostPath": {"path": "/nonexistent/ctrlplane-test"}}],
            ),
            "hostPath volume 'data': path '/nonexistent/ctrlplane-test' "
            "does not exist on this node",
            id="missing-host-path",
        ),
    ],
)
async def test_a_pod_that_cannot_run_fails_with_a_clear_message(
    runtime: ProcessRuntime, spec: object, message: str
) -> None:
    await runtime.start(spec, "rev1")  # type: ignore[arg-type]
    await wait_until(lambda: status(runtime).phase == "Failed")
    assert status(runtime).message == message
    assert runtime.running() == {KEY: "rev1"}  # held, so it is not started again and again


@pytest.mark.parametrize(
    ("probe", "ready"),
    [
        pytest.param({"exec": {"command": ["false"]}}, False, id="exec-fails"),
        pytest.param({"exec": {"command": ["true"]}}, True, id="exec-succeeds"),
        pytest.param({"tcpSocket": {"port": "1"}}, False, id="tcp-refused"),
    ],
)
async def test_readiness_follows_the_probe(
    runtime: ProcessRuntime, probe: dict[str, object], ready: bool
) -> None:
    probe = {**probe, "periodSeconds": 1}
    await runtime.start(pod("p", [sleeper(readinessProbe=probe)]), "rev1")
    await wait_until(lambda: status(runtime).phase == "Running")
    if ready:
        await wait_until(lambda: status(runtime).ready)
    else:
        # Two failed probes later it is still not ready.
        await wait_until(lambda: runtime.probes_run(KEY) >= 2)
        assert not status(runtime).ready


async def test_http_probe_against_the_pods_own_server(runtime: ProcessRuntime) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = (
        "import http.server\n"
        f"s = http.server.HTTPServer(('127.0.0.1', {port}), http.server.SimpleHTTPRequestHandler)\n"
        "s.serve_forever()"
    )
    web = {
        "name": "web",
        "command": [PY, "-c", server],
        "ports": [{"name": "http", "containerPort": port}],
        "readinessProbe": {"httpGet": {"path": "/", "port": "http"}, "periodSeconds": 1},
    }
    await runtime.start(pod("p", [web]), "rev1")
    await wait_until(lambda: status(runtime).ready)


async def test_a_new_runtime_adopts_running_processes(tmp_path: Path) -> None:
    data = tmp_path / "data"
    first = ProcessRuntime(data, "node-a", backoff=FAST)
    await first.start(pod("p", [sleeper()]), "rev1")
    await wait_until(lambda: (first.status(KEY) or PodReport()).ready)
    pid = first.pids(KEY)["main"]
    await first.close(stop_pods=False)  # as the agent does on SIGTERM
    try:
        assert pid_alive(pid)
        second = ProcessRuntime(data, "node-a", backoff=FAST)
        assert second.adopt() == [KEY]
        await wait_until(lambda: (second.status(KEY) or PodReport()).ready)
        assert second.pids(KEY)["main"] == pid
        assert second.running() == {KEY: "rev1"}
        await second.stop(KEY)
        assert not pid_alive(pid)
    finally:
        kill_group(pid)


async def test_a_command_that_cannot_start_backs_off_with_the_reason(
    runtime: ProcessRuntime,
) -> None:
    missing = {"name": "main", "image": "x", "command": ["/nonexistent/ctrlplane-cmd"]}
    await runtime.start(pod("p", [missing]), "rev1")
    await wait_until(lambda: "cannot start" in status(runtime).message)
    report = status(runtime)
    assert report.phase == "Pending"
    assert report.reason == "CrashLoopBackOff"
    assert "'/nonexistent/ctrlplane-cmd': No such file or directory" in report.message
    await wait_until(lambda: status(runtime).restart_count >= 1)


async def test_a_crashed_supervisor_fails_the_pod_and_stop_still_kills_it(
    runtime: ProcessRuntime, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A full disk once the process runs: saving its pid fails, the supervisor crashes.
    save = Sandbox.save

    def save_until_started(sandbox: Sandbox, record: PodRecord) -> None:
        if any(c.pid for c in record.containers.values()):
            raise OSError(errno.ENOSPC, "No space left on device")
        save(sandbox, record)

    monkeypatch.setattr(Sandbox, "save", save_until_started)
    reports: list[PodReport] = []
    runtime.set_listener(lambda key, report: reports.append(report))
    await runtime.start(pod("p", [sleeper()]), "rev1")
    await wait_until(lambda: status(runtime).phase == "Failed")
    assert reports[-1] == status(runtime)
    assert status(runtime).reason == "SupervisorCrashed"
    assert "No space left on device" in status(runtime).message
    pid = runtime.pids(KEY)["main"]
    try:
        assert pid_alive(pid)  # the crash left it running ...
        await runtime.stop(KEY)
        assert not pid_alive(pid)  # ... and stopping the pod still kills it
        assert runtime.running() == {}
    finally:
        kill_group(pid)
