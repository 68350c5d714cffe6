from ctrlplane._proto.v1 import objects_pb2 as _objects_pb2
from ctrlplane._proto.v1 import events_pb2 as _events_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class ObjectRef(_message.Message):
    __slots__ = ("namespace", "name")
    NAMESPACE_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    namespace: str
    name: str
    def __init__(self, namespace: _Optional[str] = ..., name: _Optional[str] = ...) -> None: ...

class ApplyRequest(_message.Message):
    __slots__ = ("daemon_set", "expected_generation", "change_cause")
    DAEMON_SET_FIELD_NUMBER: _ClassVar[int]
    EXPECTED_GENERATION_FIELD_NUMBER: _ClassVar[int]
    CHANGE_CAUSE_FIELD_NUMBER: _ClassVar[int]
    daemon_set: _objects_pb2.DaemonSet
    expected_generation: int
    change_cause: str
    def __init__(self, daemon_set: _Optional[_Union[_objects_pb2.DaemonSet, _Mapping]] = ..., expected_generation: _Optional[int] = ..., change_cause: _Optional[str] = ...) -> None: ...

class ApplyResponse(_message.Message):
    __slots__ = ("daemon_set", "changed", "created", "seq")
    DAEMON_SET_FIELD_NUMBER: _ClassVar[int]
    CHANGED_FIELD_NUMBER: _ClassVar[int]
    CREATED_FIELD_NUMBER: _ClassVar[int]
    SEQ_FIELD_NUMBER: _ClassVar[int]
    daemon_set: _objects_pb2.DaemonSet
    changed: bool
    created: bool
    seq: int
    def __init__(self, daemon_set: _Optional[_Union[_objects_pb2.DaemonSet, _Mapping]] = ..., changed: _Optional[bool] = ..., created: _Optional[bool] = ..., seq: _Optional[int] = ...) -> None: ...

class ListDaemonSetsRequest(_message.Message):
    __slots__ = ("namespace", "label_selector")
    NAMESPACE_FIELD_NUMBER: _ClassVar[int]
    LABEL_SELECTOR_FIELD_NUMBER: _ClassVar[int]
    namespace: str
    label_selector: str
    def __init__(self, namespace: _Optional[str] = ..., label_selector: _Optional[str] = ...) -> None: ...

class DaemonSetList(_message.Message):
    __slots__ = ("items",)
    ITEMS_FIELD_NUMBER: _ClassVar[int]
    items: _containers.RepeatedCompositeFieldContainer[_objects_pb2.DaemonSet]
    def __init__(self, items: _Optional[_Iterable[_Union[_objects_pb2.DaemonSet, _Mapping]]] = ...) -> None: ...

class DeleteResponse(_message.Message):
    __slots__ = ("seq",)
    SEQ_FIELD_NUMBER: _ClassVar[int]
    seq: int
    def __init__(self, seq: _Optional[int] = ...) -> None: ...

class Revision(_message.Message):
    __slots__ = ("revision", "hash", "change_cause", "template", "time")
    REVISION_FIELD_NUMBER: _ClassVar[int]
    HASH_FIELD_NUMBER: _ClassVar[int]
    CHANGE_CAUSE_FIELD_NUMBER: _ClassVar[int]
    TEMPLATE_FIELD_NUMBER: _ClassVar[int]
    TIME_FIELD_NUMBER: _ClassVar[int]
    revision: int
    hash: str
    change_cause: str
    template: _objects_pb2.PodTemplateSpec
    time: float
    def __init__(self, revision: _Optional[int] = ..., hash: _Optional[str] = ..., change_cause: _Optional[str] = ..., template: _Optional[_Union[_objects_pb2.PodTemplateSpec, _Mapping]] = ..., time: _Optional[float] = ...) -> None: ...

class HistoryResponse(_message.Message):
    __slots__ = ("revisions", "current_revision")
    REVISIONS_FIELD_NUMBER: _ClassVar[int]
    CURRENT_REVISION_FIELD_NUMBER: _ClassVar[int]
    revisions: _containers.RepeatedCompositeFieldContainer[Revision]
    current_revision: int
    def __init__(self, revisions: _Optional[_Iterable[_Union[Revision, _Mapping]]] = ..., current_revision: _Optional[int] = ...) -> None: ...

class UndoRequest(_message.Message):
    __slots__ = ("ref", "to_revision")
    REF_FIELD_NUMBER: _ClassVar[int]
    TO_REVISION_FIELD_NUMBER: _ClassVar[int]
    ref: ObjectRef
    to_revision: int
    def __init__(self, ref: _Optional[_Union[ObjectRef, _Mapping]] = ..., to_revision: _Optional[int] = ...) -> None: ...

class UndoResponse(_message.Message):
    __slots__ = ("daemon_set", "skipped", "revision", "seq")
    DAEMON_SET_FIELD_NUMBER: _ClassVar[int]
    SKIPPED_FIELD_NUMBER: _ClassVar[int]
    REVISION_FIELD_NUMBER: _ClassVar[int]
    SEQ_FIELD_NUMBER: _ClassVar[int]
    daemon_set: _objects_pb2.DaemonSet
    skipped: bool
    revision: int
    seq: int
    def __init__(self, daemon_set: _Optional[_Union[_objects_pb2.DaemonSet, _Mapping]] = ..., skipped: _Optional[bool] = ..., revision: _Optional[int] = ..., seq: _Optional[int] = ...) -> None: ...

class NodeChange(_message.Message):
    __slots__ = ("node_name", "action", "pod_name", "reason", "score")
    NODE_NAME_FIELD_NUMBER: _ClassVar[int]
    ACTION_FIELD_NUMBER: _ClassVar[int]
    POD_NAME_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    SCORE_FIELD_NUMBER: _ClassVar[int]
    node_name: str
    action: str
    pod_name: str
    reason: str
    score: int
    def __init__(self, node_name: _Optional[str] = ..., action: _Optional[str] = ..., pod_name: _Optional[str] = ..., reason: _Optional[str] = ..., score: _Optional[int] = ...) -> None: ...

class PlanResponse(_message.Message):
    __slots__ = ("generation", "changed", "diff", "changes", "created")
    GENERATION_FIELD_NUMBER: _ClassVar[int]
    CHANGED_FIELD_NUMBER: _ClassVar[int]
    DIFF_FIELD_NUMBER: _ClassVar[int]
    CHANGES_FIELD_NUMBER: _ClassVar[int]
    CREATED_FIELD_NUMBER: _ClassVar[int]
    generation: int
    changed: bool
    diff: str
    changes: _containers.RepeatedCompositeFieldContainer[NodeChange]
    created: bool
    def __init__(self, generation: _Optional[int] = ..., changed: _Optional[bool] = ..., diff: _Optional[str] = ..., changes: _Optional[_Iterable[_Union[NodeChange, _Mapping]]] = ..., created: _Optional[bool] = ...) -> None: ...

class RolloutStatus(_message.Message):
    __slots__ = ("daemon_set", "done", "failed", "message", "seq")
    DAEMON_SET_FIELD_NUMBER: _ClassVar[int]
    DONE_FIELD_NUMBER: _ClassVar[int]
    FAILED_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    SEQ_FIELD_NUMBER: _ClassVar[int]
    daemon_set: _objects_pb2.DaemonSet
    done: bool
    failed: bool
    message: str
    seq: int
    def __init__(self, daemon_set: _Optional[_Union[_objects_pb2.DaemonSet, _Mapping]] = ..., done: _Optional[bool] = ..., failed: _Optional[bool] = ..., message: _Optional[str] = ..., seq: _Optional[int] = ...) -> None: ...

class WatchRolloutRequest(_message.Message):
    __slots__ = ("ref", "watch")
    REF_FIELD_NUMBER: _ClassVar[int]
    WATCH_FIELD_NUMBER: _ClassVar[int]
    ref: ObjectRef
    watch: bool
    def __init__(self, ref: _Optional[_Union[ObjectRef, _Mapping]] = ..., watch: _Optional[bool] = ...) -> None: ...

class NodeRef(_message.Message):
    __slots__ = ("name",)
    NAME_FIELD_NUMBER: _ClassVar[int]
    name: str
    def __init__(self, name: _Optional[str] = ...) -> None: ...

class NodeList(_message.Message):
    __slots__ = ("items",)
    ITEMS_FIELD_NUMBER: _ClassVar[int]
    items: _containers.RepeatedCompositeFieldContainer[_objects_pb2.Node]
    def __init__(self, items: _Optional[_Iterable[_Union[_objects_pb2.Node, _Mapping]]] = ...) -> None: ...

class ListNodesRequest(_message.Message):
    __slots__ = ("label_selector",)
    LABEL_SELECTOR_FIELD_NUMBER: _ClassVar[int]
    label_selector: str
    def __init__(self, label_selector: _Optional[str] = ...) -> None: ...

class LabelRequest(_message.Message):
    __slots__ = ("name", "set", "remove", "overwrite")
    class SetEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    NAME_FIELD_NUMBER: _ClassVar[int]
    SET_FIELD_NUMBER: _ClassVar[int]
    REMOVE_FIELD_NUMBER: _ClassVar[int]
    OVERWRITE_FIELD_NUMBER: _ClassVar[int]
    name: str
    set: _containers.ScalarMap[str, str]
    remove: _containers.RepeatedScalarFieldContainer[str]
    overwrite: bool
    def __init__(self, name: _Optional[str] = ..., set: _Optional[_Mapping[str, str]] = ..., remove: _Optional[_Iterable[str]] = ..., overwrite: _Optional[bool] = ...) -> None: ...

class TaintRequest(_message.Message):
    __slots__ = ("name", "add", "remove", "overwrite")
    NAME_FIELD_NUMBER: _ClassVar[int]
    ADD_FIELD_NUMBER: _ClassVar[int]
    REMOVE_FIELD_NUMBER: _ClassVar[int]
    OVERWRITE_FIELD_NUMBER: _ClassVar[int]
    name: str
    add: _containers.RepeatedCompositeFieldContainer[_objects_pb2.Taint]
    remove: _containers.RepeatedCompositeFieldContainer[_objects_pb2.Taint]
    overwrite: bool
    def __init__(self, name: _Optional[str] = ..., add: _Optional[_Iterable[_Union[_objects_pb2.Taint, _Mapping]]] = ..., remove: _Optional[_Iterable[_Union[_objects_pb2.Taint, _Mapping]]] = ..., overwrite: _Optional[bool] = ...) -> None: ...

class CordonRequest(_message.Message):
    __slots__ = ("name", "unschedulable")
    NAME_FIELD_NUMBER: _ClassVar[int]
    UNSCHEDULABLE_FIELD_NUMBER: _ClassVar[int]
    name: str
    unschedulable: bool
    def __init__(self, name: _Optional[str] = ..., unschedulable: _Optional[bool] = ...) -> None: ...

class ListPodsRequest(_message.Message):
    __slots__ = ("namespace", "node_name", "label_selector")
    NAMESPACE_FIELD_NUMBER: _ClassVar[int]
    NODE_NAME_FIELD_NUMBER: _ClassVar[int]
    LABEL_SELECTOR_FIELD_NUMBER: _ClassVar[int]
    namespace: str
    node_name: str
    label_selector: str
    def __init__(self, namespace: _Optional[str] = ..., node_name: _Optional[str] = ..., label_selector: _Optional[str] = ...) -> None: ...

class PodList(_message.Message):
    __slots__ = ("items",)
    ITEMS_FIELD_NUMBER: _ClassVar[int]
    items: _containers.RepeatedCompositeFieldContainer[_objects_pb2.Pod]
    def __init__(self, items: _Optional[_Iterable[_Union[_objects_pb2.Pod, _Mapping]]] = ...) -> None: ...

class ReadEventsRequest(_message.Message):
    __slots__ = ("after_seq", "limit", "until_seq")
    AFTER_SEQ_FIELD_NUMBER: _ClassVar[int]
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    UNTIL_SEQ_FIELD_NUMBER: _ClassVar[int]
    after_seq: int
    limit: int
    until_seq: int
    def __init__(self, after_seq: _Optional[int] = ..., limit: _Optional[int] = ..., until_seq: _Optional[int] = ...) -> None: ...

class HeadResponse(_message.Message):
    __slots__ = ("seq",)
    SEQ_FIELD_NUMBER: _ClassVar[int]
    seq: int
    def __init__(self, seq: _Optional[int] = ...) -> None: ...

class Empty(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...
