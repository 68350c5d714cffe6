"""Kubernetes resource quantities ("100m", "1.5Gi", "2e3"): syntax and exact value.

Only what validation needs: is the string a quantity, and its value as a
Decimal so that requests can be compared with limits. Pure.
"""

from __future__ import annotations

import re
from decimal import Decimal

_QUANTITY_RE = re.compile(
    r"(?P<number>[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+))"
    r"(?P<suffix>Ki|Mi|Gi|Ti|Pi|Ei|n|u|m|k|M|G|T|P|E|[eE][+-]?[0-9]+)?"
)

_BINARY = {"Ki": 1, "Mi": 2, "Gi": 3, "Ti": 4, "Pi": 5, "Ei": 6}
_DECIMAL = {"n": -9, "u": -6, "m": -3, "k": 3, "M": 6, "G": 9, "T": 12, "P": 15, "E": 18}

QUANTITY_HINT = "must match the regex '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'"


def parse_quantity(value: str) -> Decimal:
    """The exact value of a quantity; ValueError when `value` is not one."""
    match = _QUANTITY_RE.fullmatch(value)
    if match is None:
        raise ValueError(f"quantities {QUANTITY_HINT}")
    number = Decimal(match.group("number"))
    suffix = match.group("suffix") or ""
    if suffix in _BINARY:
        return number * (Decimal(1024) ** _BINARY[suffix])
    if suffix in _DECIMAL:
        return number.scaleb(_DECIMAL[suffix])
    if suffix:
        return number.scaleb(int(suffix[1:]))
    return number


def is_quantity(value: str) -> bool:
    try:
        parse_quantity(value)
    except ValueError:
        return False
    return True
