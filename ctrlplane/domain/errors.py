"""The domain's errors, named by meaning, each with typed attributes."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class FieldError:
    """One problem with one field: `path` like spec.template.spec.containers[0].name."""

    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}"


class DomainError(Exception):
    """Base of the domain's errors."""


class InvalidSpec(DomainError):
    """A manifest or request is not valid; every problem names its field path."""

    def __init__(self, errors: Sequence[FieldError], source: str = "") -> None:
        self.errors = tuple(errors)
        self.source = source
        prefix = f"{source}: " if source else ""
        super().__init__(prefix + "; ".join(str(e) for e in self.errors))


class NotFound(DomainError):
    def __init__(self, kind: str, name: str) -> None:
        super().__init__(f'{kind} "{name}" not found')
        self.kind = kind
        self.name = name


class AlreadyExists(DomainError):
    def __init__(self, kind: str, name: str) -> None:
        super().__init__(f'{kind} "{name}" already exists')
        self.kind = kind
        self.name = name


class Conflict(DomainError):
    """The object changed since the caller looked (e.g. a stale expected generation)."""


class FailedPrecondition(DomainError):
    """The request is valid but the object's state forbids it (e.g. a mirror pod)."""
