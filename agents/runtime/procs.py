"""Operating-system process handles: start time, waiting on any pid, killing a group.

Children run in their own session, so a pod's process id is also its process
group id and one signal reaches everything it forked. Waiting uses a pidfd
(works for adopted processes that are not our children), falling back to
polling where pidfds are unavailable. Nothing here knows about pods.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
from pathlib import Path

POLL_SECONDS = 0.2


def start_ticks(pid: int) -> int | None:
    """The process's start time (clock ticks since boot), None if gone or a zombie."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    rest = raw[raw.rfind(")") + 2 :].split()
    # rest[0] is field 3 (state); starttime is field 22.
    if not rest or rest[0] in ("Z", "X"):
        return None
    return int(rest[19])


def alive(pid: int, ticks: int | None = None) -> bool:
    """The process exists, is not a zombie, and (if given) started at `ticks`."""
    now = start_ticks(pid)
    return now is not None and (ticks is None or now == ticks)


def _reap(pid: int) -> int | None:
    """Collect the exit status if `pid` is our child; None if it is not (adopted)."""
    try:
        done, status = os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        return None
    return os.waitstatus_to_exitcode(status) if done else None


async def wait_exit(pid: int, popen: subprocess.Popen[bytes] | None = None) -> int | None:
    """Wait until `pid` exits; its exit code when it was our child, else None."""
    loop = asyncio.get_running_loop()
    try:
        fd = os.pidfd_open(pid)
    except ProcessLookupError:
        fd = -1
    except OSError:
        fd = -2  # no pidfd support: poll
    if fd >= 0:
        exited = loop.create_future()

        def readable() -> None:
            if not exited.done():
                exited.set_result(None)

        loop.add_reader(fd, readable)
        try:
            await exited
        finally:
            loop.remove_reader(fd)
            os.close(fd)
    elif fd == -2:
        # Nothing to wait on without a pidfd: poll.
        while (popen.poll() is None) if popen is not None else alive(pid):  # noqa: ASYNC110
            await asyncio.sleep(POLL_SECONDS)
    if popen is not None:
        return popen.wait()
    return _reap(pid)


def signal_group(pid: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, sig)


async def terminate(pid: int, grace: float, popen: subprocess.Popen[bytes] | None = None) -> None:
    """SIGTERM the group, SIGKILL it after `grace` seconds, and wait for the leader."""
    signal_group(pid, signal.SIGTERM)
    try:
        async with asyncio.timeout(grace):
            await wait_exit(pid, popen)
        return
    except TimeoutError:
        pass
    signal_group(pid, signal.SIGKILL)
    await wait_exit(pid, popen)
