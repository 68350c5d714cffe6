"""Pure tests of what dsctl prints: tables, ages, labels, selectors, object shapes."""

from __future__ import annotations

import json

import pytest
import yaml

from ctrlplane._proto.v1 import objects_pb2
from ctrlplane.cli import output

NOW = 1_800_000_000.0


def stamp(seconds_ago: float) -> str:
    return output.format_time(NOW - seconds_ago)


@pytest.mark.parametrize(
    ("seconds", "expected"),
    [
        pytest.param(-5, "<invalid>", id="far-future"),
        pytest.param(-1, "0s", id="clock-skew"),
        pytest.param(0, "0s", id="now"),
        pytest.param(5, "5s", id="seconds"),
        pytest.param(119, "119s", id="under-two-minutes"),
        pytest.param(120, "2m", id="two-minutes"),
        pytest.param(200, "3m20s", id="minutes-seconds"),
        pytest.param(600, "10m", id="ten-minutes"),
        pytest.param(179 * 60, "179m", id="under-three-hours"),
        pytest.param(3 * 3600, "3h", id="three-hours"),
        pytest.param(3 * 3600 + 5 * 60, "3h5m", id="hours-minutes"),
        pytest.param(9 * 3600, "9h", id="nine-hours"),
        pytest.param(47 * 3600, "47h", id="under-two-days"),
        pytest.param(4 * 86400, "4d", id="days"),
        pytest.param(4 * 86400 + 5 * 3600, "4d5h", id="days-hours"),
        pytest.param(30 * 86400, "30d", id="month"),
        pytest.param(3 * 365 * 86400 + 10 * 86400, "3y10d", id="years-days"),
        pytest.param(10 * 365 * 86400, "10y", id="decade"),
    ],
)
def test_human_duration_like_kubectl(seconds: float, expected: str) -> None:
    assert output.human_duration(seconds) == expected


@pytest.mark.parametrize(
    ("timestamp", "expected"),
    [
        pytest.param("", "<unknown>", id="empty"),
        pytest.param("not a time", "<unknown>", id="garbage"),
        pytest.param(stamp(42), "42s", id="rfc3339-z"),
        pytest.param("2027-01-15T08:00:00+04:00", "4h", id="offset"),
    ],
)
def test_age(timestamp: str, expected: str) -> None:
    assert output.age(timestamp, NOW) == expected


def test_table_aligns_like_kubectl_tabwriter() -> None:
    rows = [["NAME", "READY", "AGE"], ["fluentd-abc", "1/1", "5s"], ["x", "0/1", "3m"]]
    text = output.table(rows)
    assert text == (
        "NAME          READY   AGE\n"
        "fluentd-abc   1/1     5s\n"
        "x             0/1     3m\n"
    )


def test_history_table_uses_its_own_padding() -> None:
    # kubectl rollout history: a tabwriter with padding 2 and no minimum width.
    rows = [["REVISION", "CHANGE-CAUSE"], ["1", "<none>"], ["12", "kubectl apply"]]
    assert output.table(rows, padding=2, min_width=0) == (
        "REVISION  CHANGE-CAUSE\n1         <none>\n12        kubectl apply\n"
    )


def test_table_minimum_width() -> None:
    assert output.table([["A", "B"], ["x", "y"]]) == "A     B\nx     y\n"


@pytest.mark.parametrize(
    ("labels", "expected"),
    [
        pytest.param({}, "<none>", id="none"),
        pytest.param({"b": "2", "a": "1"}, "a=1,b=2", id="sorted"),
    ],
)
def test_format_labels(labels: dict[str, str], expected: str) -> None:
    assert output.format_labels(labels) == expected


@pytest.mark.parametrize(
    ("selector", "expected"),
    [
        pytest.param(objects_pb2.LabelSelector(), "<none>", id="empty"),
        pytest.param(objects_pb2.LabelSelector(match_labels={"app": "x"}), "app=x", id="labels"),
        pytest.param(
            objects_pb2.LabelSelector(
                match_labels={"app": "x"},
                match_expressions=[
                    objects_pb2.LabelSelectorRequirement(key="t", operator="In", values=["b", "a"]),
                    objects_pb2.LabelSelectorRequirement(key="u", operator="NotIn", values=["c"]),
                    objects_pb2.LabelSelectorRequirement(key="v", operator="Exists"),
                    objects_pb2.LabelSelectorRequirement(key="w", operator="DoesNotExist"),
                ],
            ),
            "app=x,t in (a,b),u notin (c),v,!w",
            id="expressions",
        ),
    ],
)
def test_format_selector(selector: objects_pb2.LabelSelector, expected: str) -> None:
    assert output.format_selector(selector) == expected


def daemon_set(name: str = "fluentd", namespace: str = "default") -> objects_pb2.DaemonSet:
    ds = objects_pb2.DaemonSet()
    ds.metadata.name = name
    ds.metadata.namespace = namespace
    ds.metadata.creation_timestamp = stamp(300)
    ds.spec.selector.match_labels["app"] = "logging"
    ds.spec.template.spec.node_selector["disktype"] = "ssd"
    ds.spec.template.spec.containers.add(name="fluentd-es", image="fluentd:1.3")
    st = ds.status
    st.desired_number_scheduled, st.current_number_scheduled, st.number_ready = 3, 3, 2
    st.updated_number_scheduled, st.number_available = 3, 2
    return ds


def test_daemon_set_rows() -> None:
    rows = output.daemon_set_rows([daemon_set()], NOW)
    assert rows == [
        ["NAME", "DESIRED", "CURRENT", "READY", "UP-TO-DATE", "AVAILABLE", "NODE SELECTOR", "AGE"],
        ["fluentd", "3", "3", "2", "3", "2", "disktype=ssd", "5m"],
    ]


def test_daemon_set_rows_wide_all_namespaces() -> None:
    rows = output.daemon_set_rows([daemon_set(namespace="kube-system")], NOW, wide=True,
                                  all_namespaces=True)
    assert rows[0][0] == "NAMESPACE"
    assert rows[0][-3:] == ["CONTAINERS", "IMAGES", "SELECTOR"]
    assert rows[1][0] == "kube-system"
    assert rows[1][-3:] == ["fluentd-es", "fluentd:1.3", "app=logging"]


def pod(name: str, *, ready: bool, static: bool = False, restarts: int = 0) -> objects_pb2.Pod:
    p = objects_pb2.Pod()
    p.metadata.name = name
    p.metadata.creation_timestamp = stamp(5 * 3600)
    if static:
        p.metadata.annotations["kubernetes.io/config.mirror"] = "hash"
    p.spec.node_name = "node-1"
    p.spec.containers.add(name="c")
    p.status.phase = "Running"
    p.status.conditions.add(type="Ready", status="True" if ready else "False")
    return p


def test_pod_rows_mark_static_pods_and_show_node_when_wide() -> None:
    rows = output.pod_rows([pod("fluentd-x", ready=True), pod("etcd-node-1", ready=False,
                                                            static=True)], NOW, wide=True)
    assert rows == [
        ["NAME", "READY", "STATUS", "RESTARTS", "AGE", "NODE"],
        ["fluentd-x", "1/1", "Running", "0", "5h", "node-1"],
        ["etcd-node-1 (static)", "0/1", "Running", "0", "5h", "node-1"],
    ]


def test_pod_restarts_and_ready_from_container_statuses() -> None:
    p = pod("x", ready=False)
    p.status.container_statuses.add(name="c", ready=True, restart_count=4)
    assert output.pod_ready(p) == "1/1"
    assert output.pod_restarts(p) == 4


def node(name: str, *, ready: bool = True, cordoned: bool = False) -> objects_pb2.Node:
    n = objects_pb2.Node()
    n.metadata.name = name
    n.metadata.labels["zone"] = "a"
    n.metadata.labels["node-role.kubernetes.io/edge"] = ""
    n.metadata.creation_timestamp = stamp(4 * 86400)
    n.spec.unschedulable = cordoned
    n.spec.taints.add(key="gpu", value="yes", effect="NoSchedule")
    n.status.conditions.add(type="Ready", status="True" if ready else "Unknown")
    return n


@pytest.mark.parametrize(
    ("ready", "cordoned", "expected"),
    [
        pytest.param(True, False, "Ready", id="ready"),
        pytest.param(False, False, "NotReady", id="not-ready"),
        pytest.param(True, True, "Ready,SchedulingDisabled", id="cordoned"),
        pytest.param(False, True, "NotReady,SchedulingDisabled", id="lost-and-cordoned"),
    ],
)
def test_node_status(ready: bool, cordoned: bool, expected: str) -> None:
    assert output.node_status(node("n", ready=ready, cordoned=cordoned)) == expected


def test_node_rows_wide() -> None:
    rows = output.node_rows([node("node-1")], NOW, wide=True)
    assert rows == [
        ["NAME", "STATUS", "ROLES", "AGE", "VERSION", "TAINTS", "LABELS"],
        ["node-1", "Ready", "edge", "4d", "<none>", "gpu=yes:NoSchedule",
         "node-role.kubernetes.io/edge=,zone=a"],
    ]


def test_objects_render_kubernetes_shaped_json_and_yaml() -> None:
    ds = daemon_set()
    one = json.loads(output.render_objects([ds], "json", single=True))
    assert one["apiVersion"] == "apps/v1"
    assert one["kind"] == "DaemonSet"
    assert one["metadata"]["name"] == "fluentd"
    assert one["spec"]["template"]["spec"]["nodeSelector"] == {"disktype": "ssd"}
    assert one["status"]["desiredNumberScheduled"] == 3
    listed = yaml.safe_load(output.render_objects([ds, pod("p", ready=True)], "yaml",
                                                  single=False))
    assert listed["apiVersion"] == "v1"
    assert listed["kind"] == "List"
    assert [i["kind"] for i in listed["items"]] == ["DaemonSet", "Pod"]
    assert listed["items"][1]["spec"]["nodeName"] == "node-1"
    assert listed["items"][1]["status"]["conditions"] == [{"type": "Ready", "status": "True"}]


def test_int64_fields_are_numbers_as_in_kubernetes() -> None:
    ds = daemon_set()
    ds.metadata.generation = 3
    ds.spec.template.spec.termination_grace_period_seconds = 30
    ds.spec.template.spec.tolerations.add(key="k", toleration_seconds=5)
    data = output.to_dict(ds)
    assert data["metadata"]["generation"] == 3
    spec = data["spec"]["template"]["spec"]
    assert spec["terminationGracePeriodSeconds"] == 30
    assert spec["tolerations"][0]["tolerationSeconds"] == 5
    assert spec["nodeSelector"] == {"disktype": "ssd"}


def test_a_later_row_wider_than_its_table_keeps_its_padding() -> None:
    widths = output.column_widths([["NAME", "AGE"], ["a", "1s"]])
    assert output.table_row(["a (deleted)", "1s"], widths) == "a (deleted)   1s\n"
    assert output.table_row(["b", "2s"], widths) == "b      2s\n"
