"""Running the real dsctl in tests: in-process (main(argv) in a thread) or as a child process."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from ctrlplane.cli.dsctl import main

DSCTL = Path(sys.executable).with_name("dsctl")


@dataclass(frozen=True)
class Result:
    code: int
    out: str
    err: str


async def dsctl(capsys: pytest.CaptureFixture[str], server: str, *argv: str) -> Result:
    """dsctl.main in a worker thread: the plane's grpc.aio server needs this loop free."""
    capsys.readouterr()
    code = await asyncio.to_thread(main, ["--server", server, *argv])
    captured = capsys.readouterr()
    return Result(code, captured.out, captured.err)


async def dsctl_process(server: str | None, *argv: str, stdin: str | None = None,
                        env: dict[str, str] | None = None) -> Result:
    """The installed `dsctl` console script as a child process (real exit codes).

    `server` None: no --server flag (the environment decides).
    """
    full_env = {**os.environ, **(env or {})}
    flags = ["--server", server] if server is not None else []
    proc = await asyncio.create_subprocess_exec(
        str(DSCTL), *flags, *argv,
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=full_env,
    )
    out, err = await proc.communicate(stdin.encode() if stdin is not None else None)
    assert proc.returncode is not None
    return Result(proc.returncode, out.decode(), err.decode())
