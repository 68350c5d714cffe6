"""Kubernetes name syntax: DNS-1123 names, qualified names (label keys), label values, ports.

Each check returns a list of messages (empty = valid), worded as apimachinery's
util/validation so users see what kubectl would show. Callers attach the field
path. Pure string checks: no protobuf, no I/O.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

DNS1123_LABEL_MAX = 63
DNS1123_SUBDOMAIN_MAX = 253
QUALIFIED_NAME_MAX = 63
LABEL_VALUE_MAX = 63
PORT_NAME_MAX = 15
# apimachinery's TotalAnnotationSizeLimitB: all keys and values of one object together.
TOTAL_ANNOTATION_SIZE_LIMIT = 256 * 1024

_DNS1123_LABEL = r"[a-z0-9]([-a-z0-9]*[a-z0-9])?"
_DNS1123_SUBDOMAIN = _DNS1123_LABEL + r"(\." + _DNS1123_LABEL + r")*"
_QUALIFIED_NAME = r"([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]"
_LABEL_VALUE = r"(" + _QUALIFIED_NAME + r")?"

_DNS1123_LABEL_RE = re.compile(_DNS1123_LABEL)
_DNS1123_SUBDOMAIN_RE = re.compile(_DNS1123_SUBDOMAIN)
_QUALIFIED_NAME_RE = re.compile(_QUALIFIED_NAME)
_LABEL_VALUE_RE = re.compile(_LABEL_VALUE)
_PORT_NAME_CHARS_RE = re.compile(r"[-a-z0-9]+")
_PORT_NAME_LETTER_RE = re.compile(r"[a-z]")


def _regex_message(what: str, regex: str, examples: tuple[str, ...]) -> str:
    shown = ",  or ".join(f"'{e}'" for e in examples)
    return f"{what} (e.g. {shown}, regex used for validation is '{regex}')"


def _length_and_regex(
    value: str,
    max_length: int,
    compiled: re.Pattern[str],
    what: str,
    regex: str,
    examples: tuple[str, ...],
) -> list[str]:
    """The shared shape: a length limit, then a full match (both reported)."""
    errors: list[str] = []
    if len(value) > max_length:
        errors.append(f"must be no more than {max_length} characters")
    if not compiled.fullmatch(value):
        errors.append(_regex_message(what, regex, examples))
    return errors


def is_dns1123_label(value: str) -> list[str]:
    """A DNS-1123 label: namespaces, container, volume and port-less names (<= 63)."""
    return _length_and_regex(
        value,
        DNS1123_LABEL_MAX,
        _DNS1123_LABEL_RE,
        "a lowercase RFC 1123 label must consist of lower case alphanumeric "
        "characters or '-', and must start and end with an alphanumeric character",
        _DNS1123_LABEL,
        ("my-name", "123-abc"),
    )


def is_dns1123_subdomain(value: str) -> list[str]:
    """A DNS-1123 subdomain: object names, node names, label-key prefixes (<= 253)."""
    return _length_and_regex(
        value,
        DNS1123_SUBDOMAIN_MAX,
        _DNS1123_SUBDOMAIN_RE,
        "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric "
        "characters, '-' or '.', and must start and end with an alphanumeric character",
        _DNS1123_SUBDOMAIN,
        ("example.com",),
    )


def is_qualified_name(value: str) -> list[str]:
    """A qualified name `[prefix/]name`: label keys, annotation keys, taint keys."""
    errors: list[str] = []
    parts = value.split("/")
    if len(parts) == 1:
        name = parts[0]
    elif len(parts) == 2:
        prefix, name = parts
        if not prefix:
            errors.append("prefix part must be non-empty")
        else:
            errors.extend("prefix part " + msg for msg in is_dns1123_subdomain(prefix))
    else:
        return [
            _regex_message(
                "a qualified name must consist of alphanumeric characters, '-', '_' or '.', "
                "and must start and end with an alphanumeric character",
                _QUALIFIED_NAME,
                ("MyName", "my.name", "123-abc"),
            )
            + " with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')"
        ]
    if not name:
        errors.append("name part must be non-empty")
    elif len(name) > QUALIFIED_NAME_MAX:
        errors.append(f"name part must be no more than {QUALIFIED_NAME_MAX} characters")
    if name and not _QUALIFIED_NAME_RE.fullmatch(name):
        errors.append(
            _regex_message(
                "name part must consist of alphanumeric characters, '-', '_' or '.', "
                "and must start and end with an alphanumeric character",
                _QUALIFIED_NAME,
                ("MyName", "my.name", "123-abc"),
            )
        )
    return errors


def is_valid_label_value(value: str) -> list[str]:
    """A label value: empty, or <= 63 alphanumerics with '-', '_', '.' inside."""
    return _length_and_regex(
        value,
        LABEL_VALUE_MAX,
        _LABEL_VALUE_RE,
        "a valid label must be an empty string or consist of alphanumeric characters, "
        "'-', '_' or '.', and must start and end with an alphanumeric character",
        _LABEL_VALUE,
        ("MyValue", "my_value", "12345"),
    )


def is_valid_port_num(port: int) -> list[str]:
    if 1 <= port <= 65535:
        return []
    return ["must be between 1 and 65535, inclusive"]


def is_valid_port_name(name: str) -> list[str]:
    """An IANA_SVC_NAME: <= 15 lowercase alphanumerics or '-', with a letter, no '--'."""
    errors: list[str] = []
    if len(name) > PORT_NAME_MAX:
        errors.append(f"must be no more than {PORT_NAME_MAX} characters")
    if not _PORT_NAME_CHARS_RE.fullmatch(name):
        errors.append("must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)")
    if "--" in name:
        errors.append("must not contain consecutive hyphens")
    if not _PORT_NAME_LETTER_RE.search(name):
        errors.append("must contain at least one letter (a-z)")
    if name.startswith("-") or name.endswith("-"):
        errors.append("must not begin or end with a hyphen")
    return errors


def is_env_var_name(name: str) -> list[str]:
    """Kubernetes' relaxed rule (RelaxedEnvironmentVariableValidation): printable ASCII, no '='."""
    if name and all(" " <= ch <= "~" for ch in name) and "=" not in name:
        return []
    return [
        "a valid environment variable name must consist only of printable ASCII "
        "characters other than '='"
    ]


def annotations_size(annotations: Mapping[str, str]) -> int:
    """Bytes counted against TOTAL_ANNOTATION_SIZE_LIMIT (keys plus values, UTF-8)."""
    return sum(len(k.encode()) + len(v.encode()) for k, v in annotations.items())
