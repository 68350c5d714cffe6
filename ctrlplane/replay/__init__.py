"""Replay: time travel, diffs, explain and the decision check over any event log.

Modules: sources (open a log: SQLite read-only, JSONL, a live plane), jsonl (the
stable export/import form), timetravel (fold to a seq or time), view (a state
as data and tables), diff, explain, check (decision check and invariants),
snapshots (state beside the log; an optimisation only), snapshotter (the same from
outside the plane: `python -m ctrlplane.replay.snapshotter DB`). The package reads
logs and never appends, except `import_jsonl` into an empty store.
"""

from ctrlplane.replay.check import CheckReport, check_log
from ctrlplane.replay.jsonl import export_jsonl, import_jsonl
from ctrlplane.replay.snapshots import SnapshotTask, load_snapshot, load_state, write_snapshot

__all__ = [
    "CheckReport",
    "SnapshotTask",
    "check_log",
    "export_jsonl",
    "import_jsonl",
    "load_snapshot",
    "load_state",
    "write_snapshot",
]
