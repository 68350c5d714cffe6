"""Kubernetes name syntax: each check accepts what Kubernetes accepts and says why not."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from ctrlplane.domain import names

Check = Callable[[str], list[str]]


@pytest.mark.parametrize(
    ("check", "value"),
    [
        pytest.param(names.is_dns1123_label, "fluentd", id="label-simple"),
        pytest.param(names.is_dns1123_label, "a" * 63, id="label-63"),
        pytest.param(names.is_dns1123_label, "123-abc", id="label-digits-first"),
        pytest.param(names.is_dns1123_subdomain, "fluentd.logging", id="subdomain-dots"),
        pytest.param(names.is_dns1123_subdomain, ("a" * 63 + ".") * 3 + "a" * 61, id="sub-253"),
        pytest.param(names.is_qualified_name, "app", id="qn-plain"),
        pytest.param(names.is_qualified_name, "app.kubernetes.io/name", id="qn-prefix"),
        pytest.param(names.is_qualified_name, "My_Name.x", id="qn-mixed-case"),
        pytest.param(names.is_qualified_name, "kubernetes.io/e2e-az-name", id="qn-seed"),
        pytest.param(names.is_valid_label_value, "", id="value-empty"),
        pytest.param(names.is_valid_label_value, "S1", id="value-upper"),
        pytest.param(names.is_valid_label_value, "a-b_c.d", id="value-punct"),
        pytest.param(names.is_valid_port_name, "http", id="port-name"),
        pytest.param(names.is_valid_port_name, "metrics-9100", id="port-name-digits"),
        pytest.param(names.is_env_var_name, "FLUENTD_ARGS", id="env-plain"),
        pytest.param(names.is_env_var_name, "my.var-1 x", id="env-relaxed"),
    ],
)
def test_valid(check: Check, value: str) -> None:
    assert check(value) == []


@pytest.mark.parametrize(
    ("check", "value", "reason"),
    [
        pytest.param(
            names.is_dns1123_label, "Fluentd", "lowercase RFC 1123 label", id="label-upper"
        ),
        pytest.param(names.is_dns1123_label, "a.b", "lowercase RFC 1123 label", id="label-dot"),
        pytest.param(names.is_dns1123_label, "-a", "start and end", id="label-leading-dash"),
        pytest.param(names.is_dns1123_label, "a" * 64, "no more than 63", id="label-64"),
        pytest.param(names.is_dns1123_label, "", "RFC 1123 label", id="label-empty"),
        pytest.param(names.is_dns1123_subdomain, "a_b", "RFC 1123 subdomain", id="sub-underscore"),
        pytest.param(names.is_dns1123_subdomain, "a" * 254, "no more than 253", id="sub-254"),
        pytest.param(names.is_dns1123_subdomain, "a..b", "RFC 1123 subdomain", id="sub-dots"),
        pytest.param(names.is_qualified_name, "", "name part must be non-empty", id="qn-empty"),
        pytest.param(names.is_qualified_name, "/a", "prefix part must be non-empty", id="qn-slash"),
        pytest.param(names.is_qualified_name, "a/b/c", "qualified name", id="qn-two-slashes"),
        pytest.param(names.is_qualified_name, "Ex.com/a", "prefix part", id="qn-upper-prefix"),
        pytest.param(names.is_qualified_name, "-a", "name part must consist", id="qn-dash"),
        pytest.param(names.is_qualified_name, "a" * 64, "no more than 63", id="qn-64"),
        pytest.param(names.is_valid_label_value, "a b", "valid label", id="value-space"),
        pytest.param(names.is_valid_label_value, "a-", "valid label", id="value-trailing"),
        pytest.param(names.is_valid_label_value, "v" * 64, "no more than 63", id="value-64"),
        pytest.param(names.is_valid_port_name, "HTTP", "alpha-numeric", id="port-upper"),
        pytest.param(names.is_valid_port_name, "a--b", "consecutive", id="port-dashes"),
        pytest.param(names.is_valid_port_name, "8080", "at least one letter", id="port-digits"),
        pytest.param(names.is_valid_port_name, "a" * 16, "no more than 15", id="port-long"),
        pytest.param(names.is_env_var_name, "A=B", "other than '='", id="env-equals"),
        pytest.param(names.is_env_var_name, "", "printable", id="env-empty"),
        pytest.param(names.is_env_var_name, "caf\u00e9", "printable ASCII", id="env-unicode"),
    ],
)
def test_invalid(check: Check, value: str, reason: str) -> None:
    messages = check(value)
    assert messages, f"{value!r} should be rejected"
    assert any(reason in m for m in messages), messages


@pytest.mark.parametrize(
    ("port", "ok"),
    [
        pytest.param(1, True, id="one"),
        pytest.param(65535, True, id="max"),
        pytest.param(0, False, id="zero"),
        pytest.param(65536, False, id="too-big"),
    ],
)
def test_port_numbers(port: int, ok: bool) -> None:
    assert (names.is_valid_port_num(port) == []) is ok


def test_annotation_size_counts_utf8_bytes_of_keys_and_values() -> None:
    assert names.annotations_size({"a": "\u00e9", "bb": ""}) == 1 + 2 + 2
