"""The append rules every backend shares: validate a batch, check expected
versions, give each accepted event its seq and stream version.

Pure bookkeeping over in-memory versions; no I/O, no waiting. Backends call
`plan_group` with the batches they commit together (the SQLite writer: all
pending batches; the memory store: one) so both enforce the same semantics.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from ctrlplane.eventlog.base import ANY_VERSION, ConcurrencyError, NewEvent
from ctrlplane.eventlog.codec import payload_data

# (stream, type, data, time, actor, cause_seq): a NewEvent after serialising.
Prepared = tuple[str, str, bytes, float, str, int]
# A row in table column order: seq, stream, version, type, data, time, actor, cause_seq.
TableRow = tuple[int, str, int, str, bytes, float, str, int]


def prepare(events: Sequence[NewEvent], expected: Mapping[str, int] | None) -> list[Prepared]:
    """Serialise and check a batch where the caller can still see the mistake."""
    if expected:
        for stream, version in expected.items():
            if version < ANY_VERSION:
                raise ValueError(f"expected version {version} for {stream!r} is negative")
    prepared: list[Prepared] = []
    for event in events:
        if not event.stream:
            raise ValueError("an event needs a stream")
        if event.cause_seq < 0:
            raise ValueError(f"cause_seq {event.cause_seq} is negative")
        type_name, data = payload_data(event.payload)
        prepared.append((event.stream, type_name, data, event.time, event.actor, event.cause_seq))
    return prepared


@dataclass(slots=True)
class GroupPlan:
    """What one commit writes, and each batch's outcome once it is durable."""

    rows: list[TableRow] = field(default_factory=list)
    # The stream versions after the commit (only the streams it touched).
    versions: dict[str, int] = field(default_factory=dict)
    head: int = 0
    # Per batch, in order: the seq of its last event, or its ConcurrencyError.
    outcomes: list[int | ConcurrencyError] = field(default_factory=list)


def plan_group(
    batches: Iterable[tuple[list[Prepared], Mapping[str, int] | None]],
    version_of: Callable[[str], int],
    head: int,
) -> GroupPlan:
    """Check batches in order against the committed versions plus the batches
    accepted before them in this group; a conflicting batch is rejected alone."""
    plan = GroupPlan(head=head)
    overlay = plan.versions
    rows = plan.rows
    seq = head
    for prepared, expected in batches:
        conflict: ConcurrencyError | None = None
        if expected:
            for stream, want in expected.items():
                if want == ANY_VERSION:
                    continue
                have = overlay[stream] if stream in overlay else version_of(stream)
                if have != want:
                    conflict = ConcurrencyError(stream, want, have)
                    break
        if conflict is not None:
            plan.outcomes.append(conflict)
            continue
        for stream, type_name, data, time, actor, cause_seq in prepared:
            version = (overlay[stream] if stream in overlay else version_of(stream)) + 1
            overlay[stream] = version
            seq += 1
            rows.append((seq, stream, version, type_name, data, time, actor, cause_seq))
        plan.outcomes.append(seq)
    plan.head = seq
    return plan
