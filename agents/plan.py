"""What the agent must do to make what runs equal what is desired: a pure diff.

`plan(desired, running)` compares two maps of pod key -> revision hash and
returns the actions, in a stable order. It never touches a runtime, a clock
or the network; applying the same inputs twice gives the same plan, and
applying a plan makes the next plan empty (so a repeated delta never starts
a second process).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

PodKey = tuple[str, str]  # (namespace, name)

Verb = Literal["start", "stop", "replace"]


@dataclass(frozen=True, slots=True)
class Action:
    verb: Verb
    key: PodKey


def plan(desired: Mapping[PodKey, str], running: Mapping[PodKey, str]) -> list[Action]:
    """Stops first (they free ports and host paths), then replacements, then starts."""
    stops = [Action("stop", key) for key in sorted(running.keys() - desired.keys())]
    replaces = [
        Action("replace", key)
        for key in sorted(desired.keys() & running.keys())
        if desired[key] != running[key]
    ]
    starts = [Action("start", key) for key in sorted(desired.keys() - running.keys())]
    return stops + replaces + starts
