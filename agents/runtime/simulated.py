"""A runtime that runs nothing: pods turn Running and Ready after a delay.

For benchmarks and tests with thousands of nodes in one process. Failures
are injected by pod name or at a rate drawn from a seeded Random passed in,
so a run is repeatable. It holds no tasks per pod: one timer handle each.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Collection

from agents.runtime import Listener, PodKey, PodReport, pod_key
from ctrlplane._proto.v1 import objects_pb2

RUNNING_READY = PodReport(phase="Running", ready=True)


def _ignore(key: PodKey, report: PodReport) -> None:
    pass


class SimulatedRuntime:
    def __init__(
        self,
        *,
        ready_delay: float = 0.0,
        fail_pods: Collection[str] = (),
        fail_rate: float = 0.0,
        rng: random.Random | None = None,
    ) -> None:
        self._ready_delay = ready_delay
        self._fail_pods = set(fail_pods)
        self._fail_rate = fail_rate
        self._rng = rng if rng is not None else random.Random(0)
        self._listener: Listener = _ignore
        self._pods: dict[PodKey, str] = {}
        self._status: dict[PodKey, PodReport] = {}
        self._timers: dict[PodKey, asyncio.TimerHandle] = {}

    def set_listener(self, listener: Listener) -> None:
        self._listener = listener

    def _report(self, key: PodKey, report: PodReport) -> None:
        if self._status.get(key) == report:
            return
        self._status[key] = report
        self._listener(key, report)

    def _outcome(self, name: str) -> PodReport:
        if name in self._fail_pods or (self._fail_rate and self._rng.random() < self._fail_rate):
            return PodReport(phase="Failed", reason="InjectedFailure", message="injected failure")
        return RUNNING_READY

    async def start(self, pod: objects_pb2.Pod, revision_hash: str) -> None:
        key = pod_key(pod)
        self._pods[key] = revision_hash
        outcome = self._outcome(key[1])
        if self._ready_delay <= 0:
            self._report(key, outcome)
            return
        self._report(key, PodReport(phase="Pending"))
        loop = asyncio.get_running_loop()
        self._timers[key] = loop.call_later(self._ready_delay, self._settle, key, outcome)

    def _settle(self, key: PodKey, outcome: PodReport) -> None:
        self._timers.pop(key, None)
        if key in self._pods:
            self._report(key, outcome)

    async def stop(self, key: PodKey) -> None:
        timer = self._timers.pop(key, None)
        if timer is not None:
            timer.cancel()
        self._pods.pop(key, None)
        self._status.pop(key, None)

    def running(self) -> dict[PodKey, str]:
        return dict(self._pods)

    def status(self, key: PodKey) -> PodReport | None:
        return self._status.get(key)

    async def close(self, *, stop_pods: bool) -> None:
        for timer in self._timers.values():
            timer.cancel()
        self._timers.clear()
        if stop_pods:
            self._pods.clear()
            self._status.clear()
