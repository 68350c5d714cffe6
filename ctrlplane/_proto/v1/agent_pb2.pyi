from ctrlplane._proto.v1 import objects_pb2 as _objects_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class PodRef(_message.Message):
    __slots__ = ("namespace", "name")
    NAMESPACE_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    namespace: str
    name: str
    def __init__(self, namespace: _Optional[str] = ..., name: _Optional[str] = ...) -> None: ...

class RunningPod(_message.Message):
    __slots__ = ("namespace", "name", "revision_hash")
    NAMESPACE_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    REVISION_HASH_FIELD_NUMBER: _ClassVar[int]
    namespace: str
    name: str
    revision_hash: str
    def __init__(self, namespace: _Optional[str] = ..., name: _Optional[str] = ..., revision_hash: _Optional[str] = ...) -> None: ...

class Hello(_message.Message):
    __slots__ = ("node_name", "labels", "taints", "last_applied_seq", "running", "agent_version")
    class LabelsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    NODE_NAME_FIELD_NUMBER: _ClassVar[int]
    LABELS_FIELD_NUMBER: _ClassVar[int]
    TAINTS_FIELD_NUMBER: _ClassVar[int]
    LAST_APPLIED_SEQ_FIELD_NUMBER: _ClassVar[int]
    RUNNING_FIELD_NUMBER: _ClassVar[int]
    AGENT_VERSION_FIELD_NUMBER: _ClassVar[int]
    node_name: str
    labels: _containers.ScalarMap[str, str]
    taints: _containers.RepeatedCompositeFieldContainer[_objects_pb2.Taint]
    last_applied_seq: int
    running: _containers.RepeatedCompositeFieldContainer[RunningPod]
    agent_version: str
    def __init__(self, node_name: _Optional[str] = ..., labels: _Optional[_Mapping[str, str]] = ..., taints: _Optional[_Iterable[_Union[_objects_pb2.Taint, _Mapping]]] = ..., last_applied_seq: _Optional[int] = ..., running: _Optional[_Iterable[_Union[RunningPod, _Mapping]]] = ..., agent_version: _Optional[str] = ...) -> None: ...

class PodStatusUpdate(_message.Message):
    __slots__ = ("namespace", "pod_name", "phase", "ready", "restart_count", "message", "reason")
    NAMESPACE_FIELD_NUMBER: _ClassVar[int]
    POD_NAME_FIELD_NUMBER: _ClassVar[int]
    PHASE_FIELD_NUMBER: _ClassVar[int]
    READY_FIELD_NUMBER: _ClassVar[int]
    RESTART_COUNT_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    namespace: str
    pod_name: str
    phase: str
    ready: bool
    restart_count: int
    message: str
    reason: str
    def __init__(self, namespace: _Optional[str] = ..., pod_name: _Optional[str] = ..., phase: _Optional[str] = ..., ready: _Optional[bool] = ..., restart_count: _Optional[int] = ..., message: _Optional[str] = ..., reason: _Optional[str] = ...) -> None: ...

class Heartbeat(_message.Message):
    __slots__ = ("applied_seq",)
    APPLIED_SEQ_FIELD_NUMBER: _ClassVar[int]
    applied_seq: int
    def __init__(self, applied_seq: _Optional[int] = ...) -> None: ...

class StaticPodUpdate(_message.Message):
    __slots__ = ("reported", "removed", "rejected", "file")
    REPORTED_FIELD_NUMBER: _ClassVar[int]
    REMOVED_FIELD_NUMBER: _ClassVar[int]
    REJECTED_FIELD_NUMBER: _ClassVar[int]
    FILE_FIELD_NUMBER: _ClassVar[int]
    reported: _objects_pb2.Pod
    removed: PodRef
    rejected: StaticPodRejection
    file: str
    def __init__(self, reported: _Optional[_Union[_objects_pb2.Pod, _Mapping]] = ..., removed: _Optional[_Union[PodRef, _Mapping]] = ..., rejected: _Optional[_Union[StaticPodRejection, _Mapping]] = ..., file: _Optional[str] = ...) -> None: ...

class StaticPodRejection(_message.Message):
    __slots__ = ("error",)
    ERROR_FIELD_NUMBER: _ClassVar[int]
    error: str
    def __init__(self, error: _Optional[str] = ...) -> None: ...

class Goodbye(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class AgentMessage(_message.Message):
    __slots__ = ("hello", "pod_status", "heartbeat", "static_pod", "goodbye")
    HELLO_FIELD_NUMBER: _ClassVar[int]
    POD_STATUS_FIELD_NUMBER: _ClassVar[int]
    HEARTBEAT_FIELD_NUMBER: _ClassVar[int]
    STATIC_POD_FIELD_NUMBER: _ClassVar[int]
    GOODBYE_FIELD_NUMBER: _ClassVar[int]
    hello: Hello
    pod_status: PodStatusUpdate
    heartbeat: Heartbeat
    static_pod: StaticPodUpdate
    goodbye: Goodbye
    def __init__(self, hello: _Optional[_Union[Hello, _Mapping]] = ..., pod_status: _Optional[_Union[PodStatusUpdate, _Mapping]] = ..., heartbeat: _Optional[_Union[Heartbeat, _Mapping]] = ..., static_pod: _Optional[_Union[StaticPodUpdate, _Mapping]] = ..., goodbye: _Optional[_Union[Goodbye, _Mapping]] = ...) -> None: ...

class AssignmentSnapshot(_message.Message):
    __slots__ = ("seq", "pods")
    SEQ_FIELD_NUMBER: _ClassVar[int]
    PODS_FIELD_NUMBER: _ClassVar[int]
    seq: int
    pods: _containers.RepeatedCompositeFieldContainer[_objects_pb2.Pod]
    def __init__(self, seq: _Optional[int] = ..., pods: _Optional[_Iterable[_Union[_objects_pb2.Pod, _Mapping]]] = ...) -> None: ...

class AssignmentDelta(_message.Message):
    __slots__ = ("seq", "upserted", "removed")
    SEQ_FIELD_NUMBER: _ClassVar[int]
    UPSERTED_FIELD_NUMBER: _ClassVar[int]
    REMOVED_FIELD_NUMBER: _ClassVar[int]
    seq: int
    upserted: _containers.RepeatedCompositeFieldContainer[_objects_pb2.Pod]
    removed: _containers.RepeatedCompositeFieldContainer[PodRef]
    def __init__(self, seq: _Optional[int] = ..., upserted: _Optional[_Iterable[_Union[_objects_pb2.Pod, _Mapping]]] = ..., removed: _Optional[_Iterable[_Union[PodRef, _Mapping]]] = ...) -> None: ...

class PlaneMessage(_message.Message):
    __slots__ = ("snapshot", "delta", "heartbeat_interval_seconds")
    SNAPSHOT_FIELD_NUMBER: _ClassVar[int]
    DELTA_FIELD_NUMBER: _ClassVar[int]
    HEARTBEAT_INTERVAL_SECONDS_FIELD_NUMBER: _ClassVar[int]
    snapshot: AssignmentSnapshot
    delta: AssignmentDelta
    heartbeat_interval_seconds: float
    def __init__(self, snapshot: _Optional[_Union[AssignmentSnapshot, _Mapping]] = ..., delta: _Optional[_Union[AssignmentDelta, _Mapping]] = ..., heartbeat_interval_seconds: _Optional[float] = ...) -> None: ...
