"""Resource quantities: the syntax Kubernetes accepts and the exact value."""

from __future__ import annotations

from decimal import Decimal

import pytest

from ctrlplane.domain.quantity import is_quantity, parse_quantity


@pytest.mark.parametrize(
    ("text", "value"),
    [
        pytest.param("1", Decimal(1), id="int"),
        pytest.param("0.5", Decimal("0.5"), id="fraction"),
        pytest.param(".5", Decimal("0.5"), id="leading-dot"),
        pytest.param("100m", Decimal("0.1"), id="milli"),
        pytest.param("64Mi", Decimal(64 * 1024**2), id="mebi"),
        pytest.param("1Gi", Decimal(1024**3), id="gibi"),
        pytest.param("2k", Decimal(2000), id="kilo"),
        pytest.param("1e3", Decimal(1000), id="exponent"),
        pytest.param("1E-3", Decimal("0.001"), id="negative-exponent"),
        pytest.param("-1", Decimal(-1), id="negative"),
        pytest.param("+2M", Decimal(2_000_000), id="plus"),
    ],
)
def test_parse(text: str, value: Decimal) -> None:
    assert parse_quantity(text) == value
    assert is_quantity(text)


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("", id="empty"),
        pytest.param("lots", id="word"),
        pytest.param("1 Gi", id="space"),
        pytest.param("1GB", id="unknown-suffix"),
        pytest.param("1Ki2", id="trailing"),
        pytest.param(".", id="dot"),
    ],
)
def test_invalid(text: str) -> None:
    assert not is_quantity(text)
    with pytest.raises(ValueError, match="quantities must match"):
        parse_quantity(text)
