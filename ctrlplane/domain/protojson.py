"""Strict decoding of a YAML/JSON object into our protobuf messages, with Kubernetes field paths.

json_format.ParseDict alone is too lenient for a Kubernetes manifest (it takes
snake_case names and "80" for an int) and its errors carry no field path. So
the decoded object is first walked against the message descriptor: every
unknown field and every wrongly typed value becomes a FieldError with its full
path (`spec.template.spec.containers[0].imagePullPolicyy: unknown field`), and
int-or-string values YAML typed as numbers are turned into the strings our
protos hold. Only a clean result reaches ParseDict. Pure: no I/O.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping
from typing import TypeVar

from google.protobuf import json_format
from google.protobuf.descriptor import Descriptor, FieldDescriptor
from google.protobuf.message import Message

from ctrlplane.domain.errors import FieldError, InvalidSpec

M = TypeVar("M", bound=Message)

# Fields that are IntOrString (or a resource Quantity) in Kubernetes and a
# string here: a YAML number is accepted and kept as its decimal text.
_INT_OR_STRING: frozenset[str] = frozenset(
    {
        "ctrlplane.v1.RollingUpdateDaemonSet.max_unavailable",
        "ctrlplane.v1.RollingUpdateDaemonSet.max_surge",
        "ctrlplane.v1.HTTPGetAction.port",
        "ctrlplane.v1.TCPSocketAction.port",
        "ctrlplane.v1.EmptyDirVolumeSource.size_limit",
        "ctrlplane.v1.ResourceRequirements.limits",
        "ctrlplane.v1.ResourceRequirements.requests",
    }
)

_INT_RANGES = {
    FieldDescriptor.TYPE_INT32: (-(2**31), 2**31 - 1),
    FieldDescriptor.TYPE_SINT32: (-(2**31), 2**31 - 1),
    FieldDescriptor.TYPE_SFIXED32: (-(2**31), 2**31 - 1),
    FieldDescriptor.TYPE_INT64: (-(2**63), 2**63 - 1),
    FieldDescriptor.TYPE_SINT64: (-(2**63), 2**63 - 1),
    FieldDescriptor.TYPE_SFIXED64: (-(2**63), 2**63 - 1),
    FieldDescriptor.TYPE_UINT32: (0, 2**32 - 1),
    FieldDescriptor.TYPE_FIXED32: (0, 2**32 - 1),
    FieldDescriptor.TYPE_UINT64: (0, 2**64 - 1),
    FieldDescriptor.TYPE_FIXED64: (0, 2**64 - 1),
}


_INT64_TYPES = frozenset(
    {
        FieldDescriptor.TYPE_INT64,
        FieldDescriptor.TYPE_SINT64,
        FieldDescriptor.TYPE_SFIXED64,
        FieldDescriptor.TYPE_UINT64,
        FieldDescriptor.TYPE_FIXED64,
    }
)
_DECIMAL_RE = re.compile(r"-?[0-9]+")


def child(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name


def decode(data: Mapping[str, object], message: M, path: str = "") -> M:
    """Fill `message` from `data` strictly; raise InvalidSpec with every problem's path."""
    errors: list[FieldError] = []
    descriptor: Descriptor = message.DESCRIPTOR  # type: ignore[assignment]
    clean = normalise(data, descriptor, path, errors)
    if errors:
        raise InvalidSpec(errors)
    try:
        json_format.ParseDict(clean, message, ignore_unknown_fields=False)
    except json_format.ParseError as exc:  # the walk should have caught it; keep the text
        raise InvalidSpec([FieldError(path or "object", str(exc))]) from exc
    return message


def normalise(
    data: object, descriptor: Descriptor, path: str, errors: list[FieldError]
) -> dict[str, object]:
    """A copy of `data` fit for ParseDict; problems are appended to `errors`.

    null values are dropped, as Kubernetes decodes null to the zero value
    (`creationTimestamp: null` in kubectl output is the common case).
    """
    if not isinstance(data, Mapping):
        errors.append(FieldError(path or "object", f"expected an object, got {_kind(data)}"))
        return {}
    by_json = {f.json_name: f for f in descriptor.fields}
    out: dict[str, object] = {}
    for raw_key, value in data.items():
        key = str(raw_key)
        field_path = child(path, key)
        field = by_json.get(key)
        if field is None:
            errors.append(FieldError(field_path, _unknown(key, by_json)))
            continue
        if value is None:
            continue
        converted = _field_value(field, value, field_path, errors)
        if converted is not None:
            out[key] = converted
    return out


def _unknown(key: str, known: Mapping[str, FieldDescriptor]) -> str:
    close = difflib.get_close_matches(key, list(known), n=1)
    if not close:  # snake_case spelling of a real field
        close = [f.json_name for f in known.values() if f.name == key]
    return "unknown field" + (f' (did you mean "{close[0]}"?)' if close else "")


def _field_value(
    field: FieldDescriptor, value: object, path: str, errors: list[FieldError]
) -> object | None:
    if field.message_type is not None and field.message_type.GetOptions().map_entry:
        return _map_value(field, value, path, errors)
    if field.is_repeated:
        if not isinstance(value, list):
            errors.append(FieldError(path, f"expected a list, got {_kind(value)}"))
            return None
        items: list[object] = []
        for i, item in enumerate(value):
            if item is None:
                errors.append(FieldError(f"{path}[{i}]", "expected a value, got null"))
                continue
            converted = _single(field, item, f"{path}[{i}]", errors)
            if converted is not None:
                items.append(converted)
        return items
    return _single(field, value, path, errors)


def _map_value(
    field: FieldDescriptor, value: object, path: str, errors: list[FieldError]
) -> object | None:
    if not isinstance(value, Mapping):
        errors.append(FieldError(path, f"expected an object, got {_kind(value)}"))
        return None
    value_field = _message_type(field).fields_by_name["value"]
    lenient = field.full_name in _INT_OR_STRING
    out: dict[str, object] = {}
    for raw_key, item in value.items():
        # YAML may type a key as a number or boolean; JSON (and Kubernetes) keys are text.
        key = _scalar_text(raw_key)
        item_path = f"{path}[{key}]"
        if item is None:
            errors.append(FieldError(item_path, "expected a string, got null"))
            continue
        converted: object | None
        if lenient:
            converted = _int_or_string(item, item_path, errors)
        else:
            converted = _single(value_field, item, item_path, errors)
        if converted is not None:
            out[key] = converted
    return out


def _single(
    field: FieldDescriptor, value: object, path: str, errors: list[FieldError]
) -> object | None:
    kind = field.type
    if kind == FieldDescriptor.TYPE_MESSAGE:
        return normalise(value, _message_type(field), path, errors)
    if kind == FieldDescriptor.TYPE_STRING:
        if field.full_name in _INT_OR_STRING:
            return _int_or_string(value, path, errors)
        if isinstance(value, str):
            return value
        errors.append(FieldError(path, f"expected a string, got {_kind(value)}"))
        return None
    if kind == FieldDescriptor.TYPE_BOOL:
        if isinstance(value, bool):
            return value
        errors.append(FieldError(path, f"expected a boolean, got {_kind(value)}"))
        return None
    if kind in _INT_RANGES:
        if kind in _INT64_TYPES and isinstance(value, str) and _DECIMAL_RE.fullmatch(value):
            # protobuf's JSON mapping prints 64-bit ints as strings, so what
            # `get -o json` printed must apply again.
            value = int(value)
        if isinstance(value, int) and not isinstance(value, bool):
            low, high = _INT_RANGES[kind]
            if low <= value <= high:
                return value
            errors.append(FieldError(path, f"integer {value} is out of range"))
            return None
        errors.append(FieldError(path, f"expected an integer, got {_kind(value)}"))
        return None
    if kind == FieldDescriptor.TYPE_ENUM and field.enum_type is not None:
        known = field.enum_type.values_by_name
        if isinstance(value, str) and value in known:
            return value
        errors.append(FieldError(path, f"expected one of {', '.join(known)}"))
        return None
    if kind in (FieldDescriptor.TYPE_DOUBLE, FieldDescriptor.TYPE_FLOAT):
        if isinstance(value, int | float) and not isinstance(value, bool):
            return value
        errors.append(FieldError(path, f"expected a number, got {_kind(value)}"))
        return None
    errors.append(FieldError(path, "field type not supported in manifests"))
    return None


def _message_type(field: FieldDescriptor) -> Descriptor:
    message_type = field.message_type
    assert message_type is not None, field.full_name
    return message_type


def _int_or_string(value: object, path: str, errors: list[FieldError]) -> str | None:
    if isinstance(value, str):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        return _scalar_text(value)
    errors.append(FieldError(path, f"expected an integer or a string, got {_kind(value)}"))
    return None


def _scalar_text(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer() and abs(value) < 2**53:
        return str(int(value))
    return str(value)


def _kind(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return f"boolean {'true' if value else 'false'}"
    if isinstance(value, int | float):
        return f"number {value}"
    if isinstance(value, str):
        return "string"
    if isinstance(value, Mapping):
        return "an object"
    if isinstance(value, list):
        return "a list"
    return type(value).__name__
