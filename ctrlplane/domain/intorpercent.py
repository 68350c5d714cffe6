"""Int-or-percent values ("1", "10%") as stored in maxUnavailable / maxSurge, and their scaling.

Kubernetes' IntOrString keeps ints and strings apart; our protos store both as
strings (YAML `1` is normalised to "1" when a manifest is loaded), so here "1"
is the integer 1 and "10%" a percentage. An empty string is the zero value,
as an unset IntOrString is in Kubernetes. Pure arithmetic, no I/O.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ctrlplane.domain import fielderrors
from ctrlplane.domain.errors import FieldError, InvalidSpec

_INT_OR_PERCENT_RE = re.compile(r"(-?[0-9]+)(%?)")
SYNTAX_HINT = 'must be an integer or percentage (e.g. "1" or "10%")'


@dataclass(frozen=True, slots=True)
class IntOrPercent:
    value: int
    percent: bool

    def __str__(self) -> str:
        return f"{self.value}%" if self.percent else str(self.value)


def int_or_percent_errors(value: str, path: str) -> list[FieldError]:
    """Every problem with `value` as a non-negative int or a percentage of at most 100 %."""
    if value == "":
        return []
    match = _INT_OR_PERCENT_RE.fullmatch(value)
    if match is None:
        return [fielderrors.invalid(path, value, SYNTAX_HINT)]
    number = int(match.group(1))
    if number < 0:
        return [fielderrors.invalid(path, value, "must be greater than or equal to 0")]
    if match.group(2) and number > 100:
        return [fielderrors.invalid(path, value, "must not be greater than 100%")]
    return []


def parse_int_or_percent(value: str, path: str) -> IntOrPercent:
    """Parse and check `value`; raise InvalidSpec naming `path` when it is not valid."""
    errors = int_or_percent_errors(value, path)
    if errors:
        raise InvalidSpec(errors)
    if value == "":
        return IntOrPercent(0, False)
    if value.endswith("%"):
        return IntOrPercent(int(value[:-1]), True)
    return IntOrPercent(int(value), False)


def scaled_value(value: str, total: int, round_up: bool) -> int:
    """Kubernetes' GetScaledValueFromIntOrPercent: an int as is, a percentage of `total`.

    The DaemonSet controller scales both maxUnavailable and maxSurge with
    round_up=True (pkg/controller/daemon/util: UnavailableCount, SurgeCount), so
    10 % of 5 nodes is 1, never 0.
    """
    parsed = parse_int_or_percent(value, "value")
    if not parsed.percent:
        return parsed.value
    # Integer arithmetic: float rounding must not turn 100 % of n into n + 1.
    quotient, remainder = divmod(parsed.value * total, 100)
    return quotient + 1 if round_up and remainder else quotient


def is_zero(value: str) -> bool:
    """True for "", "0" and "0%": the value that means "none" (invalid values are not zero)."""
    try:
        return parse_int_or_percent(value, "value").value == 0
    except InvalidSpec:
        return False
