"""dsctl end to end against a real plane (gRPC on 127.0.0.1, SQLite in tmp_path).

Nodes are registered through the Nodes API (no agents here): pods are
scheduled by the controller but never run, which is all get/label/taint need.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
import yaml
from conftest import EXAMPLES, Stubs, plane_config
from support import make_pki, wait_until

from cli.dsctl_run import dsctl
from ctrlplane._proto.v1 import api_pb2, objects_pb2
from ctrlplane.api.auth import TokenTable
from ctrlplane.cli.dsctl import main
from ctrlplane.server import Plane

FLUENTD = EXAMPLES / "fluentd-daemonset.yaml"

SSD_DS = """\
apiVersion: apps/v1
kind: DaemonSet
metadata:
  name: ssd-agent
spec:
  selector:
    matchLabels: {app: ssd-agent}
  template:
    metadata:
      labels: {app: ssd-agent}
    spec:
      nodeSelector: {disktype: ssd}
      containers:
      - name: agent
        image: busybox
        command: [python3, -c, "import time; time.sleep(1e9)"]
"""


async def register(stubs: Stubs, name: str, **labels: str) -> None:
    node = objects_pb2.Node()
    node.metadata.name = name
    node.metadata.labels.update(labels)
    await stubs.nodes.Register(node)


@pytest.fixture
def ssd_file(tmp_path: Path) -> Path:
    path = tmp_path / "ssd.yaml"
    path.write_text(SSD_DS)
    return path


async def test_apply_get_reapply_change_delete(
    plane: Plane, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    first = await dsctl(capsys, plane.address, "apply", "-f", str(FLUENTD))
    assert (first.code, first.out) == (0, "daemonset.apps/fluentd created\n")

    again = await dsctl(capsys, plane.address, "apply", "-f", str(FLUENTD))
    assert again.out == "daemonset.apps/fluentd unchanged\n"

    got = await dsctl(capsys, plane.address, "get", "ds")
    header, row = got.out.splitlines()
    assert header.split() == ["NAME", "DESIRED", "CURRENT", "READY", "UP-TO-DATE",
                              "AVAILABLE", "NODE", "SELECTOR", "AGE"]
    assert row.split()[:7] == ["fluentd", "0", "0", "0", "0", "0", "<none>"]

    as_yaml = yaml.safe_load((await dsctl(capsys, plane.address, "get", "ds", "fluentd",
                                          "-o", "yaml")).out)
    assert as_yaml["kind"] == "DaemonSet"
    assert as_yaml["metadata"]["name"] == "fluentd"
    assert as_yaml["metadata"]["generation"] == 1
    assert as_yaml["spec"]["template"]["spec"]["containers"][0]["name"] == "fluentd-es"

    changed = tmp_path / "fluentd.yaml"
    changed.write_text(FLUENTD.read_text().replace("value: -qq", "value: -q"))
    configured = await dsctl(capsys, plane.address, "apply", "-f", str(changed))
    assert configured.out == "daemonset.apps/fluentd configured\n"
    as_json = json.loads((await dsctl(capsys, plane.address, "get", "ds", "-o", "json")).out)
    assert as_json["kind"] == "List"
    assert as_json["apiVersion"] == "v1"
    assert [i["metadata"]["generation"] for i in as_json["items"]] == [2]

    deleted = await dsctl(capsys, plane.address, "delete", "ds", "fluentd")
    assert (deleted.code, deleted.out) == (0, 'daemonset.apps "fluentd" deleted\n')
    missing = await dsctl(capsys, plane.address, "get", "ds", "fluentd")
    assert missing.code == 1
    assert missing.err.startswith("error: ")
    assert "not found" in missing.err
    assert len(missing.err.splitlines()) == 1


async def test_apply_directory_and_stdin_documents(
    plane: Plane, capsys: pytest.CaptureFixture[str], tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    many = tmp_path / "many"
    many.mkdir()
    (many / "a.yaml").write_text(SSD_DS + "---\n" + SSD_DS.replace("ssd-agent", "other"))
    (many / "notes.txt").write_text("not a manifest")
    result = await dsctl(capsys, plane.address, "apply", "-f", str(many))
    assert result.out == "daemonset.apps/ssd-agent created\ndaemonset.apps/other created\n"

    import io

    monkeypatch.setattr("sys.stdin", io.StringIO(SSD_DS.replace("ssd-agent", "third")))
    piped = await dsctl(capsys, plane.address, "apply", "-f", "-")
    assert piped.out == "daemonset.apps/third created\n"


async def test_invalid_manifest_names_the_field(
    plane: Plane, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(SSD_DS.replace("nodeSelector", "nodeSelectr"))
    result = await dsctl(capsys, plane.address, "apply", "-f", str(bad))
    assert result.code == 1
    assert result.out == ""
    assert result.err.startswith("error: ")
    assert "spec.template.spec.nodeSelectr" in result.err


async def test_nodes_label_taint_cordon_and_pods_follow(
    plane: Plane, stubs: Stubs, capsys: pytest.CaptureFixture[str], ssd_file: Path
) -> None:
    await register(stubs, "node-1", disktype="ssd", zone="a")
    await register(stubs, "node-2", disktype="hdd", zone="b")
    await register(stubs, "node-3", zone="c")
    await dsctl(capsys, plane.address, "apply", "-f", str(ssd_file))

    async def pods_on() -> set[str]:
        listed = await dsctl(capsys, plane.address, "get", "pods", "-o", "json")
        return {item["spec"]["nodeName"] for item in json.loads(listed.out)["items"]}

    async def pods_on_is(nodes: set[str]) -> bool:
        return await pods_on() == nodes

    await wait_until(lambda: pods_on_is({"node-1"}), message="pod on node-1 only")

    labelled = await dsctl(capsys, plane.address, "label", "nodes", "node-2", "disktype=ssd")
    assert labelled.code == 1, "changing a label needs --overwrite, as in kubectl"
    assert labelled.err.startswith("error: ")
    labelled = await dsctl(capsys, plane.address, "label", "nodes", "node-2", "disktype=ssd",
                           "--overwrite")
    assert (labelled.code, labelled.out) == (0, "node/node-2 labeled\n")
    await wait_until(lambda: pods_on_is({"node-1", "node-2"}), message="pod follows the label")

    unlabelled = await dsctl(capsys, plane.address, "label", "node/node-1", "disktype-")
    assert unlabelled.out == "node/node-1 unlabeled\n"
    await wait_until(lambda: pods_on_is({"node-2"}), message="pod leaves node-1")

    wide = await dsctl(capsys, plane.address, "get", "pods", "-o", "wide")
    header, row = wide.out.splitlines()
    assert header.split() == ["NAME", "READY", "STATUS", "RESTARTS", "AGE", "NODE"]
    assert row.startswith("ssd-agent-")
    assert row.split()[1:3] == ["0/1", "Pending"]
    assert row.split()[-1] == "node-2"

    on_node2 = await dsctl(capsys, plane.address, "get", "pods", "-o", "name",
                           "--field-selector", "spec.nodeName=node-2")
    assert on_node2.out.startswith("pod/ssd-agent-")
    assert len(on_node2.out.splitlines()) == 1
    on_node1 = await dsctl(capsys, plane.address, "get", "pods",
                           "--field-selector=spec.nodeName=node-1")
    assert on_node1.out == ""
    assert "No resources found" in on_node1.err

    tainted = await dsctl(capsys, plane.address, "taint", "nodes", "node-3", "gpu=yes:NoSchedule")
    assert tainted.out == "node/node-3 tainted\n"
    cordoned = await dsctl(capsys, plane.address, "cordon", "node-3")
    assert cordoned.out == "node/node-3 cordoned\n"
    again = await dsctl(capsys, plane.address, "cordon", "node-3")
    assert again.out == "node/node-3 already cordoned\n"

    nodes = await dsctl(capsys, plane.address, "get", "nodes", "-o", "wide")
    lines = {line.split()[0]: line for line in nodes.out.splitlines()[1:]}
    assert "SchedulingDisabled" in lines["node-3"]
    assert "gpu=yes:NoSchedule" in lines["node-3"]
    node3 = yaml.safe_load((await dsctl(capsys, plane.address, "get", "node", "node-3",
                                        "-o", "yaml")).out)
    assert node3["kind"] == "Node"
    assert node3["spec"]["unschedulable"] is True
    assert node3["spec"]["taints"][0]["key"] == "gpu"

    untainted = await dsctl(capsys, plane.address, "taint", "nodes", "node-3", "gpu-")
    assert untainted.out == "node/node-3 untainted\n"
    uncordoned = await dsctl(capsys, plane.address, "uncordon", "node-3")
    assert uncordoned.out == "node/node-3 uncordoned\n"

    combined = await dsctl(capsys, plane.address, "get", "ds,pods,nodes")
    blocks = combined.out.split("\n\n")
    assert len(blocks) == 3
    assert blocks[0].splitlines()[1].startswith("daemonset.apps/ssd-agent ")
    assert blocks[1].splitlines()[1].startswith("pod/ssd-agent-")
    assert [line.split()[0] for line in blocks[2].splitlines()[1:]] == [
        "node/node-1", "node/node-2", "node/node-3"]


async def test_get_with_label_selector_and_namespaces(
    plane: Plane, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    labelled = SSD_DS.replace("metadata:\n  name: ssd-agent",
                              "metadata:\n  name: ssd-agent\n  labels: {tier: infra}")
    (tmp_path / "a.yaml").write_text(labelled)
    (tmp_path / "b.yaml").write_text(SSD_DS.replace("ssd-agent", "plain"))
    await dsctl(capsys, plane.address, "apply", "-f", str(tmp_path / "a.yaml"))
    await dsctl(capsys, plane.address, "apply", "-f", str(tmp_path / "b.yaml"), "-n", "kube-system")

    selected = await dsctl(capsys, plane.address, "get", "ds", "-l", "tier=infra", "-o", "name")
    assert selected.out == "daemonset.apps/ssd-agent\n"
    default_ns = await dsctl(capsys, plane.address, "get", "ds", "-o", "name")
    assert default_ns.out == "daemonset.apps/ssd-agent\n"
    everywhere = await dsctl(capsys, plane.address, "get", "ds", "-A")
    rows = [line.split()[:2] for line in everywhere.out.splitlines()]
    assert rows == [["NAMESPACE", "NAME"], ["default", "ssd-agent"], ["kube-system", "plain"]]
    none = await dsctl(capsys, plane.address, "get", "pods", "-n", "empty")
    assert (none.code, none.out) == (0, "")
    assert "No resources found in empty namespace." in none.err


async def test_events_table_json_and_export(
    plane: Plane, capsys: pytest.CaptureFixture[str], ssd_file: Path, tmp_path: Path
) -> None:
    await dsctl(capsys, plane.address, "apply", "-f", str(ssd_file), "--change-cause", "first")
    lines = (await dsctl(capsys, plane.address, "events", "-o", "json")).out.splitlines()
    first = json.loads(lines[0])
    assert {"seq", "stream", "type", "time", "actor", "causeSeq", "event"} <= set(first)
    assert first["type"] == "DaemonSetApplied"
    assert first["stream"] == "daemonset/default/ssd-agent"
    assert first["actor"].startswith("user:")
    assert first["event"]["changeCause"] == "first"

    table = await dsctl(capsys, plane.address, "events")
    assert table.out.splitlines()[0].split()[:5] == ["SEQ", "TIME", "ACTOR", "STREAM", "TYPE"]
    assert "DaemonSetApplied" in table.out

    since = await dsctl(capsys, plane.address, "events", "--since", "1", "-o", "json")
    assert all(json.loads(line)["seq"] > 1 for line in since.out.splitlines())
    only = await dsctl(capsys, plane.address, "events", "ds/ssd-agent", "--type",
                       "DaemonSetApplied", "-o", "json")
    assert [json.loads(line)["seq"] for line in only.out.splitlines()] == [first["seq"]]
    nothing = await dsctl(capsys, plane.address, "events", "node/nope", "-o", "json")
    assert (nothing.code, nothing.out) == (0, "")

    export = tmp_path / "log.jsonl"
    done = await dsctl(capsys, plane.address, "events", "--export", str(export))
    assert done.code == 0
    exported = [json.loads(line) for line in export.read_text().splitlines()]
    assert exported[0] == first
    assert [e["seq"] for e in exported] == list(range(1, len(exported) + 1))


async def test_get_watch_prints_the_pod_following_a_label(
    plane: Plane, stubs: Stubs, capsys: pytest.CaptureFixture[str], ssd_file: Path
) -> None:
    await register(stubs, "node-1", disktype="ssd")
    await register(stubs, "node-2", disktype="hdd")
    await dsctl(capsys, plane.address, "apply", "-f", str(ssd_file))

    async def one_pod() -> bool:
        listed = await dsctl(capsys, plane.address, "get", "pods", "-o", "name")
        return len(listed.out.splitlines()) == 1

    await wait_until(one_pod, message="a pod on node-1")
    capsys.readouterr()
    watching = asyncio.create_task(asyncio.to_thread(
        main, ["--server", plane.address, "get", "pods", "-o", "wide", "-w",
               "--request-timeout=4s"]))
    seen = ""

    def printed() -> str:
        nonlocal seen
        seen += capsys.readouterr().out
        return seen

    await wait_until(lambda: len(printed().splitlines()) >= 2, message="the initial table")
    await stubs.nodes.Label(api_pb2.LabelRequest(name="node-2", set={"disktype": "ssd"},
                                                 overwrite=True))
    await stubs.nodes.Label(api_pb2.LabelRequest(name="node-1", remove=["disktype"]))
    assert await watching == 0
    lines = printed().splitlines()
    assert lines[0].split() == ["NAME", "READY", "STATUS", "RESTARTS", "AGE", "NODE"]
    assert lines[1].split()[-1] == "node-1"
    updates = lines[2:]
    assert any(line.split()[-1] == "node-2" for line in updates), lines
    assert any("(deleted)" in line and line.split()[-1] == "node-1" for line in updates), lines


# ---- TLS and tokens ------------------------------------------------------------


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A throwaway CA, a certificate for a plane on 127.0.0.1, one for a client."""
    return make_pki(tmp_path_factory.mktemp("pki"), ["alice"])


async def test_tls_flags_and_bearer_token(
    tmp_path: Path, pki: Path, capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    tokens = tmp_path / "tokens"
    tokens.write_text("s3cret,alice,admin\n")
    config = plane_config(
        tmp_path, tls_cert=pki / "plane.pem", tls_key=pki / "plane.key",
        client_ca=pki / "ca.pem", tokens=TokenTable.load(tokens),
    )
    tls = ["--certificate-authority", str(pki / "ca.pem"),
           "--client-certificate", str(pki / "alice.pem"), "--client-key", str(pki / "alice.key")]
    async with Plane(config) as plane:
        monkeypatch.setenv("DSCTL_TOKEN", "s3cret")
        applied = await dsctl(capsys, plane.address, "apply", "-f", str(FLUENTD), *tls)
        assert applied.code == 0, applied.err
        (event,) = await plane.store.read(0, limit=1)
        assert event.actor == "user:alice"  # the token named who applied it

        # The same through the variables instead of the flags.
        monkeypatch.setenv("DSCTL_CERTIFICATE_AUTHORITY", str(pki / "ca.pem"))
        monkeypatch.setenv("DSCTL_CLIENT_CERTIFICATE", str(pki / "alice.pem"))
        monkeypatch.setenv("DSCTL_CLIENT_KEY", str(pki / "alice.key"))
        listed = await dsctl(capsys, plane.address, "get", "ds", "-o", "name")
        assert (listed.code, listed.out) == (0, "daemonset.apps/fluentd\n"), listed.err

        monkeypatch.delenv("DSCTL_TOKEN")
        refused = await dsctl(capsys, plane.address, "get", "ds")
        assert refused.code == 1
        assert "$DSCTL_TOKEN" in refused.err

        monkeypatch.delenv("DSCTL_CLIENT_KEY")
        unpaired = await dsctl(capsys, plane.address, "get", "ds")
        assert unpaired.err == (
            "error: --client-certificate and --client-key go together (mTLS)\n"
        )
