"""StaticPods.scan: which files are pods, what is reported, what is rejected."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from agents.runtime import PodReport
from agents.static_pods import StaticPods


def manifest(name: str, image: str = "python", kind: str = "Pod") -> str:
    return yaml.safe_dump(
        {
            "apiVersion": "v1",
            "kind": kind,
            "metadata": {"name": name, "labels": {"tier": "node"}},
            "spec": {"containers": [{"name": "c", "image": image, "command": ["true"]}]},
        }
    )


def changes(static: StaticPods) -> list[tuple[str, str]]:
    out = []
    for u in static.updates_for_plane(full=False):
        change = u.WhichOneof("change")
        if change == "reported":
            out.append((change, u.reported.metadata.name))
        elif change == "removed":
            out.append((change, u.removed.name))
        else:
            out.append((str(change), Path(u.file).name))
    return out


@pytest.mark.parametrize(
    ("files", "pods", "reported"),
    [
        pytest.param(
            {"web.yaml": manifest("web")},
            ["web-n1"],
            [("reported", "web-n1")],
            id="yaml-is-a-pod",
        ),
        pytest.param(
            {"a.yml": manifest("a"), "b.json": manifest("b")},
            ["a-n1", "b-n1"],
            [("reported", "a-n1"), ("reported", "b-n1")],
            id="yml-and-json",
        ),
        pytest.param(
            {".hidden.yaml": manifest("h"), "notes.txt": manifest("t"), "x.yaml~": "junk"},
            [],
            [],
            id="dotfiles-and-other-extensions-ignored",
        ),
        pytest.param(
            {"bad.yaml": "kind: Pod\nspec: [", "ok.yaml": manifest("ok")},
            ["ok-n1"],
            [("rejected", "bad.yaml"), ("reported", "ok-n1")],
            id="malformed-rejected-others-run",
        ),
        pytest.param(
            {"ds.yaml": manifest("d", kind="DaemonSet")},
            [],
            [("rejected", "ds.yaml")],
            id="not-a-pod-rejected",
        ),
        pytest.param(
            {"a.yaml": manifest("same"), "b.yaml": manifest("same")},
            ["same-n1"],
            [("rejected", "b.yaml"), ("reported", "same-n1")],
            id="duplicate-name-rejected",
        ),
    ],
)
def test_scan(
    tmp_path: Path, files: dict[str, str], pods: list[str], reported: list[tuple[str, str]]
) -> None:
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    static = StaticPods(tmp_path, "n1")
    static.scan()
    assert sorted(name for _, name in static.pods) == pods
    assert changes(static) == reported
    for key, pod in static.pods.items():
        assert pod.spec.node_name == "n1"
        assert pod.metadata.labels["tier"] == "node"
        assert key == ("default", pod.metadata.name)


def test_edit_replace_remove_and_status(tmp_path: Path) -> None:
    path = tmp_path / "web.yaml"
    path.write_text(manifest("web"))
    static = StaticPods(tmp_path, "n1")
    static.scan()
    first = static.pods[("default", "web-n1")]
    changes(static)

    static.scan()  # nothing changed on disk: nothing to say
    assert changes(static) == []

    path.write_text(manifest("web", image="python:3.12"))
    static.scan()
    second = static.pods[("default", "web-n1")]
    revision = "ctrlplane.io/revision-hash"
    assert first.metadata.annotations[revision] != second.metadata.annotations[revision]
    assert changes(static) == [("reported", "web-n1")]

    path.write_text("not: [valid")  # a broken edit keeps the last good pod
    static.scan()
    assert ("default", "web-n1") in static.pods
    assert changes(static) == [("rejected", "web.yaml")]

    assert static.set_status(("default", "web-n1"), PodReport("Running", True))
    [update] = static.updates_for_plane(full=False)
    assert update.reported.status.phase == "Running"
    assert [c.status for c in update.reported.status.conditions] == ["True"]
    assert not static.set_status(("default", "other"), PodReport())

    path.unlink()
    static.scan()
    assert static.pods == {}
    assert changes(static) == [("removed", "web-n1")]
