"""Replay tests: time travel, diffs, explain, decision checks, snapshots, golden logs."""
