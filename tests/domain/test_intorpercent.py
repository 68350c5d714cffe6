"""Int-or-percent parsing and Kubernetes' scaling (round up for DaemonSet budgets)."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ctrlplane.domain.errors import InvalidSpec
from ctrlplane.domain.intorpercent import (
    IntOrPercent,
    int_or_percent_errors,
    is_zero,
    parse_int_or_percent,
    scaled_value,
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("1", IntOrPercent(1, False), id="int"),
        pytest.param("0", IntOrPercent(0, False), id="zero"),
        pytest.param("10%", IntOrPercent(10, True), id="percent"),
        pytest.param("100%", IntOrPercent(100, True), id="hundred-percent"),
        pytest.param("", IntOrPercent(0, False), id="unset-is-zero"),
    ],
)
def test_parse_valid(text: str, expected: IntOrPercent) -> None:
    assert parse_int_or_percent(text, "spec.x") == expected
    assert int_or_percent_errors(text, "spec.x") == []


@pytest.mark.parametrize(
    ("text", "message"),
    [
        pytest.param("ten", 'Invalid value: "ten": must be an integer or percentage', id="word"),
        pytest.param("1.5", "must be an integer or percentage", id="fraction"),
        pytest.param("10 %", "must be an integer or percentage", id="space"),
        pytest.param("%", "must be an integer or percentage", id="bare-percent"),
        pytest.param("-1", "must be greater than or equal to 0", id="negative"),
        pytest.param("-5%", "must be greater than or equal to 0", id="negative-percent"),
        pytest.param("101%", "must not be greater than 100%", id="over-100-percent"),
    ],
)
def test_parse_invalid_names_path_and_reason(text: str, message: str) -> None:
    with pytest.raises(InvalidSpec) as info:
        parse_int_or_percent(text, "spec.updateStrategy.rollingUpdate.maxUnavailable")
    (error,) = info.value.errors
    assert error.path == "spec.updateStrategy.rollingUpdate.maxUnavailable"
    assert message in error.message


@pytest.mark.parametrize(
    ("value", "total", "round_up", "expected"),
    [
        pytest.param("3", 10, True, 3, id="int-ignores-total"),
        pytest.param("25%", 20, True, 5, id="exact-percent"),
        pytest.param("10%", 5, True, 1, id="rounds-up-to-one"),
        pytest.param("10%", 5, False, 0, id="rounds-down-to-zero"),
        pytest.param("33%", 10, True, 4, id="up-3.3"),
        pytest.param("33%", 10, False, 3, id="down-3.3"),
        pytest.param("100%", 7, True, 7, id="all"),
        pytest.param("0%", 7, True, 0, id="none"),
        pytest.param("50%", 0, True, 0, id="no-nodes"),
    ],
)
def test_scaled_value(value: str, total: int, round_up: bool, expected: int) -> None:
    assert scaled_value(value, total, round_up) == expected


def test_scaled_value_rejects_garbage() -> None:
    with pytest.raises(InvalidSpec):
        scaled_value("lots", 10, True)


@pytest.mark.parametrize(
    ("value", "zero"),
    [
        pytest.param("", True, id="unset"),
        pytest.param("0", True, id="int"),
        pytest.param("0%", True, id="percent"),
        pytest.param("1", False, id="one"),
        pytest.param("junk", False, id="invalid-is-not-zero"),
    ],
)
def test_is_zero(value: str, zero: bool) -> None:
    assert is_zero(value) is zero


@given(st.integers(0, 100), st.integers(0, 100_000))
def test_percent_scaling_is_ceil_or_floor(percent: int, total: int) -> None:
    exact = percent * total / 100
    up = scaled_value(f"{percent}%", total, True)
    down = scaled_value(f"{percent}%", total, False)
    assert down == percent * total // 100
    assert up == -(-percent * total // 100)
    assert down <= exact <= up
    assert up - down in (0, 1)
    assert up <= total
    assert math.floor(exact) <= down
