"""Reading manifests for dsctl: a file, a directory of them, or stdin (`-`).

Only the file half: the text of each file goes through the domain's
`load_manifests` (decode, default per apiVersion, validate, errors named by
field path), the same code the plane runs, so a bad manifest fails before it
is sent. dsctl applies DaemonSets; a Pod document is refused with the reason.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from ctrlplane._proto.v1 import objects_pb2
from ctrlplane.domain.errors import InvalidSpec
from ctrlplane.domain.manifests import load_manifests

MANIFEST_SUFFIXES = (".yaml", ".yml", ".json")


class ManifestError(ValueError):
    """A manifest dsctl cannot send; the message names the file and the field."""


@dataclass(frozen=True, slots=True)
class Manifest:
    source: str  # the file, and the document when it holds several
    daemon_set: objects_pb2.DaemonSet


def _files(path: str) -> Iterator[tuple[str, str]]:
    if path == "-":
        yield "<stdin>", sys.stdin.read()
        return
    p = Path(path)
    if p.is_dir():
        # kubectl -f DIR: the manifest files directly in it, in name order.
        found = sorted(f for f in p.iterdir() if f.suffix in MANIFEST_SUFFIXES and f.is_file())
        if not found:
            raise ManifestError(f"no manifests (*.yaml, *.yml, *.json) in directory {path}")
        for f in found:
            yield str(f), _read(f)
        return
    if not p.exists():
        raise ManifestError(f'the path "{path}" does not exist')
    yield str(p), _read(p)


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise ManifestError(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    except OSError as exc:
        raise ManifestError(f"{path}: {exc.strerror or exc}") from None


def load(paths: list[str], namespace: str = "") -> list[Manifest]:
    """Every DaemonSet under `paths`, in order, defaulted and valid; else ManifestError."""
    manifests: list[Manifest] = []
    for path in paths:
        for name, text in _files(path):
            try:
                loaded = load_manifests(text, name, namespace=namespace or None)
            except InvalidSpec as exc:
                raise ManifestError(str(exc)) from None
            several = len(loaded) > 1
            for item in loaded:
                source = f"{name} (document {item.index + 1})" if several else name
                if not isinstance(item.obj, objects_pb2.DaemonSet):
                    raise ManifestError(
                        f'{source}: kind "{item.kind}" is not applied by dsctl: it applies '
                        "DaemonSets (a Pod runs as a static pod from an agent's "
                        "--pod-manifest-path)"
                    )
                manifests.append(Manifest(source, item.obj))
    if not manifests:
        raise ManifestError("no objects passed to apply")
    return manifests
