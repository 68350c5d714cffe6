"""The kubectl argument forms dsctl accepts, as pure parsers.

Resource words (ds, daemonset, daemonsets.apps, po, no...), TYPE/NAME and
"TYPE NAME" references, comma lists, Go-style durations (--timeout=5m) and
kubectl booleans (--watch=false). No I/O.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

DAEMON_SETS = "daemonsets"
PODS = "pods"
NODES = "nodes"

_ALIASES = {
    DAEMON_SETS: ("ds", "daemonset", "daemonsets", "daemonset.apps", "daemonsets.apps"),
    PODS: ("po", "pod", "pods"),
    NODES: ("no", "node", "nodes"),
}
RESOURCE_OF = {alias: kind for kind, aliases in _ALIASES.items() for alias in aliases}

# How kubectl names each kind in "daemonset.apps/fluentd created".
QUALIFIED = {DAEMON_SETS: "daemonset.apps", PODS: "pod", NODES: "node"}
SINGULAR = {DAEMON_SETS: "daemonset", PODS: "pod", NODES: "node"}


class UsageError(ValueError):
    """The command line is wrong; the message says how."""


def resource(word: str) -> str:
    kind = RESOURCE_OF.get(word.lower())
    if kind is None:
        raise UsageError(f'the server doesn\'t have a resource type "{word}"')
    return kind


@dataclass(frozen=True, slots=True)
class Target:
    kind: str
    names: tuple[str, ...]  # empty: all of that kind


def parse_targets(words: Sequence[str]) -> list[Target]:
    """kubectl's `get` forms: `ds`, `ds a b`, `ds,pods`, `ds/a pod/b`."""
    if not words:
        raise UsageError("you must specify the type of resource to get, e.g. ds, pods, nodes")
    if "/" in words[0]:
        targets: list[Target] = []
        for word in words:
            if "/" not in word:
                raise UsageError(
                    "there is no need to specify a resource type as a separate argument "
                    "when passing arguments in resource/name form"
                )
            kind_word, _, name = word.partition("/")
            if not name:
                raise UsageError(f"no name given in {word!r}")
            targets.append(Target(resource(kind_word), (name,)))
        return targets
    kinds = [resource(w) for w in words[0].split(",") if w]
    names = tuple(words[1:])
    if names and len(kinds) > 1:
        raise UsageError("names cannot be given for more than one resource type")
    # kubectl keeps the order given and drops repeats.
    return [Target(kind, names) for kind in dict.fromkeys(kinds)]


def parse_ref(words: Sequence[str], *, kind: str = DAEMON_SETS) -> str:
    """One named object of `kind`: `ds/NAME`, `daemonset/NAME` or `daemonset NAME`."""
    if len(words) == 1 and "/" in words[0]:
        kind_word, _, name = words[0].partition("/")
    elif len(words) == 2:
        kind_word, name = words
    elif len(words) == 1:
        raise UsageError(f"give the {SINGULAR[kind]} as TYPE/NAME or TYPE NAME, e.g. ds/fluentd")
    else:
        raise UsageError(f"expected one {SINGULAR[kind]}, got {' '.join(words)!r}")
    if resource(kind_word) != kind:
        raise UsageError(f"only {SINGULAR[kind]}s are supported here, not {kind_word!r}")
    if not name:
        raise UsageError(f"no name given in {' '.join(words)!r}")
    return name


_DURATION_PART = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h)")
_UNIT_SECONDS = {
    "ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0,
}


def parse_duration(text: str) -> float:
    """Go's time.ParseDuration (as kubectl's --timeout): 30s, 5m, 1h30m, 1.5s, 0."""
    text = text.strip()
    if text in ("0", "+0", ""):
        return 0.0
    if text.isdigit():
        # kubectl rejects a bare number; accept it as seconds, which is what people mean.
        return float(text)
    pos, total = 0, 0.0
    while pos < len(text):
        match = _DURATION_PART.match(text, pos)
        if match is None:
            raise UsageError(f'invalid duration "{text}" (use e.g. 30s, 5m, 1h30m)')
        total += float(match.group(1)) * _UNIT_SECONDS[match.group(2)]
        pos = match.end()
    return total


def parse_bool(text: str) -> bool:
    """kubectl's (Go strconv.ParseBool) boolean flag values."""
    value = text.strip().lower()
    if value in ("1", "t", "true", "yes", "y"):
        return True
    if value in ("0", "f", "false", "no", "n"):
        return False
    raise UsageError(f'invalid boolean "{text}" (use true or false)')
