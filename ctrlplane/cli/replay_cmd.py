"""`dsctl replay`: time travel, diffs, explain and decision checks over a log.

STUB: registered so dsctl can wire it; being written.
"""

from __future__ import annotations

import argparse


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser("replay", help="replay an event log")
    parser.set_defaults(func=lambda args: 1)
