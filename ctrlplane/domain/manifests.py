"""Manifests: YAML/JSON text with one or more documents -> defaulted, validated objects.

Owns the text-to-object path the CLI (`dsctl apply -f`) and static pods use, and
`prepare_daemon_set` / `prepare_pod`, which the API applies to objects that
arrive as protobuf: decode -> default (per apiVersion) -> validate, as the
Kubernetes API server does. Takes text, never opens files: reading files and
directories is the caller's job.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import yaml

from ctrlplane._proto.v1 import objects_pb2
from ctrlplane.domain import defaults
from ctrlplane.domain import fielderrors as fe
from ctrlplane.domain.errors import FieldError, InvalidSpec
from ctrlplane.domain.protojson import decode
from ctrlplane.domain.validation import daemon_set_errors, pod_errors

# Kubernetes' API server refuses request bodies over 3 MiB; a manifest file is one.
MAX_MANIFEST_BYTES = 3 * 1024 * 1024
# Values in one document once YAML aliases are expanded (a "billion laughs" guard,
# as go-yaml has one); far above any real manifest.
MAX_DOCUMENT_NODES = 250_000

KINDS = {
    "DaemonSet": defaults.DAEMON_SET_API_VERSIONS,
    "Pod": defaults.POD_API_VERSIONS,
}


@dataclass(frozen=True, slots=True)
class Manifest:
    """One object from a manifest file, defaulted and valid.

    `index` is the document's position in the file (0-based, empty documents
    counted) and `item` the position in a `kind: List` document's items (None
    otherwise); `api_version` is the version it was written in (a DaemonSet's
    object is apps/v1 after defaulting).
    """

    source: str
    index: int
    api_version: str
    obj: objects_pb2.DaemonSet | objects_pb2.Pod
    item: int | None = None

    @property
    def kind(self) -> str:
        return "DaemonSet" if isinstance(self.obj, objects_pb2.DaemonSet) else "Pod"

    @property
    def name(self) -> str:
        return self.obj.metadata.name

    @property
    def namespace(self) -> str:
        return self.obj.metadata.namespace


def load_manifests(text: str, source: str = "", *, namespace: str | None = None) -> list[Manifest]:
    """Every object in `text`; InvalidSpec (source names the document) if any is invalid.

    `namespace` is kubectl's `-n`: it fills objects without one and is an error
    for an object that names another namespace.
    """
    if len(text.encode()) > MAX_MANIFEST_BYTES:
        raise InvalidSpec(
            [FieldError("manifest", f"Too long: must have at most {MAX_MANIFEST_BYTES} bytes")],
            source,
        )
    documents = parse_documents(text, source)
    several = len(documents) > 1
    manifests: list[Manifest] = []
    for index, document in enumerate(documents):
        if document is None:  # `---` with nothing after it, as kubectl skips
            continue
        where = f"{source} (document {index + 1})" if several and source else source
        try:
            if _is_list(document):
                manifests += _load_list(document, source, index, namespace)
            else:
                manifests.append(_load_one(document, source, index, namespace))
        except InvalidSpec as exc:
            raise InvalidSpec(exc.errors, where) from None
    return manifests


def _is_list(document: object) -> bool:
    return isinstance(document, Mapping) and document.get("kind") == "List"


def _load_list(document: object, source: str, index: int, namespace: str | None) -> list[Manifest]:
    """kubectl's `kind: List` (what `get -o yaml` prints): each item is an object."""
    assert isinstance(document, Mapping)
    unknown = sorted(
        str(k) for k in document if k not in ("apiVersion", "kind", "items", "metadata")
    )
    if unknown:
        raise InvalidSpec([FieldError(unknown[0], "unknown field")])
    if document.get("apiVersion") != "v1":
        raise InvalidSpec([fe.not_supported("apiVersion", document.get("apiVersion"), ["v1"])])
    items = document.get("items") or []
    if not isinstance(items, list):
        raise InvalidSpec([FieldError("items", "expected a list")])
    out: list[Manifest] = []
    for item_index, item in enumerate(items):
        try:
            manifest = _load_one(item, source, index, namespace)
        except InvalidSpec as exc:
            prefix = f"items[{item_index}]"
            errors = [FieldError(f"{prefix}.{e.path}", e.message) for e in exc.errors]
            raise InvalidSpec(errors) from None
        out.append(dataclasses.replace(manifest, item=item_index))
    return out


def parse_documents(text: str, source: str = "") -> list[object]:
    """The YAML documents of `text` as plain data (None for an empty document)."""
    try:
        documents = list(yaml.load_all(text, Loader=_Loader))  # a SafeLoader subclass
    except yaml.YAMLError as exc:
        raise InvalidSpec([FieldError("yaml", _yaml_message(exc))], source) from None
    except RecursionError:
        raise InvalidSpec([FieldError("yaml", "nested too deeply")], source) from None
    for document in documents:
        if _too_many_nodes(document):
            raise InvalidSpec(
                [
                    FieldError(
                        "yaml", f"more than {MAX_DOCUMENT_NODES} values after expanding aliases"
                    )
                ],
                source,
            )
    return documents


def _too_many_nodes(document: object) -> bool:
    """Aliases can make a small text a huge (or cyclic) tree: count, and stop at the limit."""
    budget = MAX_DOCUMENT_NODES
    stack = [document]
    while stack:
        node = stack.pop()
        budget -= 1
        if budget < 0:
            return True
        if isinstance(node, Mapping):
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
    return False


def _load_one(document: object, source: str, index: int, namespace: str | None) -> Manifest:
    if not isinstance(document, Mapping):
        raise InvalidSpec([FieldError("object", "expected an object with apiVersion and kind")])
    api_version, kind = document.get("apiVersion"), document.get("kind")
    errors: list[FieldError] = []
    for name, value in (("apiVersion", api_version), ("kind", kind)):
        if not value:
            errors.append(fe.required(name))
        elif not isinstance(value, str):
            errors.append(FieldError(name, "expected a string"))
    if errors:
        raise InvalidSpec(errors)
    assert isinstance(api_version, str)
    assert isinstance(kind, str)
    if kind not in KINDS:
        raise InvalidSpec([fe.not_supported("kind", kind, KINDS)])
    if api_version not in KINDS[kind]:
        raise InvalidSpec(
            [
                fe.invalid(
                    "apiVersion",
                    api_version,
                    f'no kind "{kind}" in this version; supported: {", ".join(KINDS[kind])}',
                )
            ]
        )
    # Status is the server's; manifests saved from `get -o yaml` carry one.
    body = {k: v for k, v in document.items() if k != "status"}
    obj: objects_pb2.DaemonSet | objects_pb2.Pod
    if kind == "DaemonSet":
        obj = decode(body, objects_pb2.DaemonSet())
    else:
        obj = decode(body, objects_pb2.Pod())
    if namespace is not None:
        _apply_namespace(obj.metadata, namespace)
    obj = prepare_daemon_set(obj) if isinstance(obj, objects_pb2.DaemonSet) else prepare_pod(obj)
    return Manifest(source=source, index=index, api_version=str(api_version), obj=obj)


def _apply_namespace(meta: objects_pb2.ObjectMeta, namespace: str) -> None:
    if not meta.namespace:
        meta.namespace = namespace
    elif meta.namespace != namespace:
        raise InvalidSpec(
            [
                fe.invalid(
                    "metadata.namespace",
                    meta.namespace,
                    f'does not match the namespace "{namespace}" given on the command line',
                )
            ]
        )


def prepare_daemon_set(ds: objects_pb2.DaemonSet) -> objects_pb2.DaemonSet:
    """A defaulted, validated copy of `ds` recorded as apps/v1; InvalidSpec otherwise.

    Idempotent: preparing a prepared object changes nothing. Status is dropped.
    """
    out = objects_pb2.DaemonSet()
    out.CopyFrom(ds)
    out.ClearField("status")
    defaults.default_daemon_set(out)
    fe.raise_if_any(daemon_set_errors(out))
    return out


def prepare_pod(pod: objects_pb2.Pod) -> objects_pb2.Pod:
    """A defaulted, validated copy of a (static) Pod; InvalidSpec otherwise."""
    out = objects_pb2.Pod()
    out.CopyFrom(pod)
    out.ClearField("status")
    defaults.default_pod(out)
    fe.raise_if_any(pod_errors(out))
    return out


# ---- YAML loading -------------------------------------------------------------


try:  # libyaml's parser: fast, and it limits nesting (the pure-Python scanner is quadratic)
    from yaml import CSafeLoader as _SafeLoader
except ImportError:  # PyYAML built without libyaml
    from yaml import SafeLoader as _SafeLoader  # type: ignore[assignment]


class _Loader(_SafeLoader):
    """SafeLoader that keeps timestamps as text and refuses duplicate keys.

    Kubernetes' YAML (YAML -> JSON) keeps `2024-01-01` a string, and its strict
    decoding rejects a key given twice; PyYAML would make a date and keep the
    last value silently.
    """

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[object] = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=True)
            if isinstance(key, list | dict):
                continue  # unhashable: let PyYAML report it
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"duplicate key {key!r}", key_node.start_mark
                )
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


_Loader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def _yaml_message(exc: yaml.YAMLError) -> str:
    mark = getattr(exc, "problem_mark", None)
    problem = getattr(exc, "problem", None) or str(exc)
    if mark is not None:
        return f"line {mark.line + 1} column {mark.column + 1}: {problem}"
    return problem
