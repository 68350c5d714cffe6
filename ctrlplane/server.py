"""The plane: wires store, state feed, controller and gRPC services; start and stop.

`Plane(PlaneConfig(...))` owns one task group (feed, controller, whatever the
services spawn) and one grpc.aio server. It holds no domain logic: requests
become events in ctrlplane.api, decisions are made in ctrlplane.controller.
"""

from __future__ import annotations

import asyncio
import gc
import logging
from collections.abc import Coroutine, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection

from ctrlplane.api import register_core_services
from ctrlplane.api.auth import AuthInterceptor, TokenTable
from ctrlplane.api.context import PlaneContext, Registrar
from ctrlplane.clock import Clock, SystemClock
from ctrlplane.controller.feed import StateFeed
from ctrlplane.controller.loop import Controller
from ctrlplane.eventlog import open_store
from ctrlplane.eventlog.base import EventStore
from ctrlplane.replay.snapshots import SnapshotTask, has_file, load_snapshot

log = logging.getLogger(__name__)

MB = 1024 * 1024

# gRPC core options, each set on purpose for thousands of long-lived agent
# streams (DESIGN.md: with the defaults ~30 % of 5,000 simultaneous streams
# were silently CANCELLED).
SERVER_OPTIONS: tuple[tuple[str, int], ...] = (
    # Calls that arrived but have no handler yet. Past the soft limit core
    # starts rejecting at random, past the hard limit always: the default
    # (1000 / 3000) is what cancelled the reconnect storm.
    ("grpc.server.max_pending_requests", 50_000),
    ("grpc.server.max_pending_requests_hard_limit", 100_000),
    # How long such a call may wait for a handler before core cancels it
    # (default 30 s); a storm on a busy 2-core box can take longer.
    ("grpc.server_max_unrequested_time_in_server", 300),
    # Streams per HTTP/2 connection: a benchmark process multiplexes many
    # simulated agents over a few channels.
    ("grpc.max_concurrent_streams", 100_000),
    # Keepalive: the server pings idle connections every 60 s and drops a
    # peer that does not answer in 20 s (a vanished machine), and tolerates
    # agents that ping every 10 s without calls (no GOAWAY "too_many_pings").
    ("grpc.keepalive_time_ms", 60_000),
    ("grpc.keepalive_timeout_ms", 20_000),
    ("grpc.keepalive_permit_without_calls", 1),
    ("grpc.http2.min_ping_interval_without_data_ms", 10_000),
    ("grpc.http2.max_ping_strikes", 0),
    # Size limits: a manifest or request is small (the domain validates sizes
    # too); responses can be big lists or snapshots.
    ("grpc.max_receive_message_length", 8 * MB),
    ("grpc.max_send_message_length", 64 * MB),
    # Two planes on one port must fail, not silently share it (core sets
    # SO_REUSEPORT by default on Linux).
    ("grpc.so_reuseport", 0),
)


@dataclass(slots=True)
class PlaneConfig:
    db_path: str | Path | None = None  # a file or a store URL; ignored when `store` is given
    listen: str = "127.0.0.1:7443"
    clock: Clock = field(default_factory=SystemClock)
    lease_seconds: float = 15.0
    heartbeat_interval: float = 5.0
    store: EventStore | None = None  # an already open store (the plane does not close it)
    run_controller: bool = True
    services: Sequence[Registrar] = ()  # extra services, e.g. Agent.Connect
    grace: float = 2.0  # seconds in-flight calls get on stop
    tokens: TokenTable | None = None  # bearer tokens with roles; None: no authentication
    # TLS: serve with this certificate and key (PEM files); with `client_ca`,
    # every client must present a certificate signed by it (mTLS).
    tls_cert: Path | None = None
    tls_key: Path | None = None
    client_ca: Path | None = None
    strict: bool = False  # a reconcile that raises stops the plane (tests) instead of a log line
    # gc.freeze() after a start-up fold of at least this many events (None: never).
    gc_freeze_events: int | None = 10_000


# The collector's thresholds for a serving plane. CPython's default first
# threshold (700 allocations) runs a young collection every few hundred pod
# objects and promotes the folded state into ever older generations, whose
# full collections then walk millions of objects: measured at 10,000 nodes,
# about half the plane's CPU during a rollout. Cycles are rare in the fold,
# so collecting far less often costs little memory.
SERVING_GC_THRESHOLDS = (50_000, 20, 100)


def tune_gc_for_serving() -> None:
    """Process-wide: for `ctrlplane serve` (and benchmarks that stand in for it)."""
    gc.set_threshold(*SERVING_GC_THRESHOLDS)


def freeze_startup_objects(folded_events: int, threshold: int | None) -> bool:
    """After the start-up fold of a big log: collect, then gc.freeze(). True if it did.

    The folded state (at 10,000 nodes millions of objects) lives as long as
    the process, yet every full collection walks all of it: ~60 ms pauses of
    the event loop, while heartbeats and API calls wait. Freezing moves what
    is alive now into the permanent generation, out of the collector's way
    (reference counting still frees those objects; only cycles among them
    would stay). Collecting first keeps start-up garbage out of it. A small
    log is not worth it: its collections are short, and a process that
    starts many small planes (tests) would pin each one's cycles for good.
    """
    if threshold is None or folded_events < threshold:
        return False
    gc.collect()
    gc.freeze()
    return True


class PlaneFailed(RuntimeError):
    """A background task of the plane failed; the plane stopped."""


class Plane:
    def __init__(self, config: PlaneConfig) -> None:
        self.config = config
        self._store: EventStore | None = config.store
        self._owns_store = config.store is None
        self._feed: StateFeed | None = None
        self._snapshots: SnapshotTask | None = None
        self._ctx: PlaneContext | None = None
        self._server: grpc.aio.Server | None = None
        self._health = health.aio.HealthServicer()
        self._runner: asyncio.Task[None] | None = None
        self._task_group: asyncio.TaskGroup | None = None
        self._extra: list[Registrar] = list(config.services)
        self.port = 0
        self.controller: Controller | None = None  # once serving (counters for tests)
        self.failure: BaseExceptionGroup[BaseException] | None = None  # why the tasks died
        self.snapshot_seq = 0  # the seq of the snapshot the start-up fold began at (0: none)

    # ---- wiring -----------------------------------------------------------

    def add_service(self, register: Registrar) -> None:
        """Register one more service; call before start()."""
        if self._server is not None:
            raise RuntimeError("add_service must be called before start()")
        self._extra.append(register)

    @property
    def store(self) -> EventStore:
        assert self._store is not None, "plane not started"
        return self._store

    @property
    def feed(self) -> StateFeed:
        assert self._feed is not None, "plane not started"
        return self._feed

    @property
    def context(self) -> PlaneContext:
        assert self._ctx is not None, "plane not started"
        return self._ctx

    @property
    def address(self) -> str:
        host = self.config.listen.rsplit(":", 1)[0]
        if host in ("", "0.0.0.0", "[::]"):
            host = "127.0.0.1"
        return f"{host}:{self.port}"

    def spawn(self, coro: Coroutine[Any, Any, Any]) -> asyncio.Task[Any]:
        """Run `coro` in the plane's task group."""
        if self._task_group is None:
            coro.close()
            raise RuntimeError("plane not started")
        return self._task_group.create_task(coro)

    # ---- lifetime ---------------------------------------------------------

    async def start(self, *, wait_ready: bool = True) -> None:
        """Open the store, listen, fold the log; return once serving (or listening)."""
        if self._store is None:
            if self.config.db_path is None:
                raise ValueError("PlaneConfig needs db_path or store")
            self._store = await open_store(str(self.config.db_path))
        # A snapshot beside the log (only a file this plane opened itself: a
        # store handed in may be shared) saves folding the whole log; it is
        # checked against the log and this code's fingerprint, else ignored.
        db = self.config.db_path if self._owns_store and has_file(self.config.db_path) else None
        # Snapshots it ignores (other code, another log) stay until the next
        # write prunes them; the task counts from the one actually loaded.
        snapshot = await load_snapshot(self._store, db)
        self.snapshot_seq = snapshot.seq if snapshot is not None else 0
        self._feed = StateFeed(self._store, snapshot)
        self._snapshots = (
            SnapshotTask(self._feed, db, start_seq=self.snapshot_seq) if db is not None else None
        )
        self._ctx = PlaneContext(
            store=self._store,
            feed=self._feed,
            clock=self.config.clock,
            heartbeat_interval=self.config.heartbeat_interval,
            lease_seconds=self.config.lease_seconds,
            spawn=self.spawn,
            tokens=self.config.tokens,
            mtls=self.config.client_ca is not None,
        )
        # The task group first, so that services may spawn tasks as they register.
        started: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._runner = asyncio.create_task(self._run(started), name="plane")
        await started
        try:
            await self._listen(self._ctx)
        except BaseException:
            await self.stop(0)
            raise
        log.info("plane listening on %s", self.address)
        if wait_ready:
            await self.wait_ready()

    async def _listen(self, ctx: PlaneContext) -> None:
        interceptors = [AuthInterceptor(ctx.tokens)] if ctx.tokens is not None else []
        server = grpc.aio.server(options=list(SERVER_OPTIONS), interceptors=interceptors)
        self._server = server
        names = register_core_services(ctx, server)
        for register in self._extra:
            name = register(ctx, server)
            if name:
                names.append(name)
        health_pb2_grpc.add_HealthServicer_to_server(self._health, server)
        await self._health.set("", health_pb2.HealthCheckResponse.NOT_SERVING)
        names += [health_pb2.DESCRIPTOR.services_by_name["Health"].full_name]
        names += [reflection.SERVICE_NAME]
        reflection.enable_server_reflection(names, server)
        credentials = self._credentials()
        if credentials is None:
            self.port = server.add_insecure_port(self.config.listen)
        else:
            self.port = server.add_secure_port(self.config.listen, credentials)
        if self.port == 0:
            raise OSError(f"cannot listen on {self.config.listen}")
        await server.start()

    def _credentials(self) -> grpc.ServerCredentials | None:
        config = self.config
        if config.tls_cert is None and config.tls_key is None:
            if config.client_ca is not None:
                raise ValueError("client_ca needs tls_cert and tls_key (mTLS is TLS first)")
            return None
        if config.tls_cert is None or config.tls_key is None:
            raise ValueError("TLS needs both tls_cert and tls_key")
        pair = (Path(config.tls_key).read_bytes(), Path(config.tls_cert).read_bytes())
        ca = Path(config.client_ca).read_bytes() if config.client_ca is not None else None
        return grpc.ssl_server_credentials(
            [pair], root_certificates=ca, require_client_auth=ca is not None
        )

    async def wait_ready(self) -> None:
        """Wait for the initial fold; raise PlaneFailed if the plane died first."""
        assert self._runner is not None
        ready = asyncio.ensure_future(self.feed.ready.wait())
        try:
            await asyncio.wait({ready, self._runner}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            ready.cancel()
        if not self.feed.ready.is_set():
            await self.wait()  # raises PlaneFailed

    async def _run(self, started: asyncio.Future[None]) -> None:
        async with asyncio.TaskGroup() as tg:
            self._task_group = tg
            tg.create_task(self.feed.run(), name="feed")
            if self._snapshots is not None:
                tg.create_task(self._write_snapshots(self._snapshots), name="snapshots")
            tg.create_task(self._serve_when_ready(), name="ready")
            started.set_result(None)

    async def _write_snapshots(self, snapshots: SnapshotTask) -> None:
        try:
            await snapshots.run()
        except OSError as error:  # a full or read-only disk must not stop the plane
            log.warning("periodic snapshots stopped: %s", error)

    async def _serve_when_ready(self) -> None:
        await self.feed.ready.wait()
        freeze_startup_objects(self.feed.state.seq, self.config.gc_freeze_events)
        await self._health.set("", health_pb2.HealthCheckResponse.SERVING)
        if self.config.run_controller:
            self.controller = Controller(
                self.feed, self.store, self.config.clock, strict=self.config.strict
            )
            self.spawn(self.controller.run())

    async def wait(self) -> None:
        """Wait until the plane stops; raise PlaneFailed if a task failed."""
        assert self._runner is not None
        try:
            await asyncio.shield(self._runner)
        except asyncio.CancelledError:
            if not self._runner.done():
                raise  # we were cancelled, not the plane
        except BaseExceptionGroup as group:
            raise PlaneFailed(f"plane stopped: {group.exceptions[0]!r}") from group

    async def stop(self, grace: float | None = None) -> None:
        """Stop serving (in-flight calls get `grace` seconds), cancel tasks, close."""
        grace = self.config.grace if grace is None else grace
        if self._server is not None:
            await self._health.enter_graceful_shutdown()
            if self._ctx is not None:
                # Calls that never end by themselves (agent streams) end now,
                # rather than holding the stop for the whole grace period.
                self._ctx.stopping()
            await self._server.stop(grace)
        if self._snapshots is not None and self._feed is not None and self._feed.ready.is_set():
            # The next start folds only what comes after this.
            try:
                await self._snapshots.write_now()
            except OSError as error:  # an optimisation only: never fail the stop
                log.warning("snapshot on stop failed: %s", error)
        if self._runner is not None:
            self._runner.cancel()
            try:
                await self._runner
            except asyncio.CancelledError:
                pass
            except BaseExceptionGroup as group:
                # A task had failed before we stopped: keep it for whoever asks.
                self.failure = group
        if self._owns_store and self._store is not None:
            await self._store.close()
            self._store = None

    async def __aenter__(self) -> Plane:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()
