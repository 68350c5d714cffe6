"""Constructors for FieldError in Kubernetes' wording (field.Required, field.Invalid, ...).

Validation everywhere builds its errors here so messages read the same as
kubectl's ("spec.selector: Required value"). Pure: no I/O.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence

from google.protobuf import json_format
from google.protobuf.message import Message

from ctrlplane.domain.errors import FieldError, InvalidSpec


def show(value: object) -> str:
    """A value as Kubernetes prints it in a message: strings quoted, objects as JSON."""
    if isinstance(value, Message):
        return json.dumps(json_format.MessageToDict(value), sort_keys=True)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, Mapping):
        return json.dumps({str(k): str(v) for k, v in value.items()}, sort_keys=True)
    if isinstance(value, Sequence):
        return json.dumps([str(v) for v in value])
    return repr(value)


def required(path: str, detail: str = "") -> FieldError:
    return FieldError(path, "Required value" + (f": {detail}" if detail else ""))


def invalid(path: str, value: object, detail: str) -> FieldError:
    return FieldError(path, f"Invalid value: {show(value)}: {detail}")


def duplicate(path: str, value: object) -> FieldError:
    return FieldError(path, f"Duplicate value: {show(value)}")


def not_found(path: str, value: object) -> FieldError:
    return FieldError(path, f"Not found: {show(value)}")


def forbidden(path: str, detail: str) -> FieldError:
    return FieldError(path, f"Forbidden: {detail}")


def too_long(path: str, limit: int) -> FieldError:
    return FieldError(path, f"Too long: must have at most {limit} bytes")


def not_supported(path: str, value: object, supported: Iterable[str]) -> FieldError:
    choices = ", ".join(json.dumps(s) for s in supported)
    return FieldError(path, f"Unsupported value: {show(value)}: supported values: {choices}")


def non_negative(path: str, value: int) -> list[FieldError]:
    """Kubernetes' ValidateNonnegativeField."""
    if value < 0:
        return [invalid(path, value, "must be greater than or equal to 0")]
    return []


def raise_if_any(errors: Sequence[FieldError], source: str = "") -> None:
    """Raise InvalidSpec carrying every error, if there are any."""
    if errors:
        raise InvalidSpec(errors, source)
