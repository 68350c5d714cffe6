"""dsctl's manifest reading: files, directories, documents, refusals (no plane needed)."""

from __future__ import annotations

from pathlib import Path

import pytest

from ctrlplane.cli.manifests import ManifestError, load

DS = """\
apiVersion: apps/v1
kind: DaemonSet
metadata: {{name: {name}}}
spec:
  selector: {{matchLabels: {{app: x}}}}
  template:
    metadata: {{labels: {{app: x}}}}
    spec:
      containers: [{{name: c, image: i, command: [sleep, "1"]}}]
"""
POD = "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers: [{name: c, image: i}]\n"


def test_directory_reads_manifest_files_in_name_order(tmp_path: Path) -> None:
    (tmp_path / "b.yml").write_text(DS.format(name="b"))
    (tmp_path / "a.yaml").write_text(DS.format(name="a") + "---\n---\n" + DS.format(name="a2"))
    (tmp_path / "README.md").write_text("# not a manifest")
    loaded = load([str(tmp_path)])
    assert [m.daemon_set.metadata.name for m in loaded] == ["a", "a2", "b"]
    assert loaded[0].source.endswith("a.yaml (document 1)")
    # Defaulted as the plane would (apps/v1: RollingUpdate).
    assert loaded[2].daemon_set.spec.update_strategy.type == "RollingUpdate"


def test_namespace_flag_fills_the_namespace(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text(DS.format(name="a"))
    assert load([str(tmp_path / "a.yaml")], "kube-system")[0].daemon_set.metadata.namespace == (
        "kube-system"
    )


@pytest.mark.parametrize(
    ("content", "message"),
    [
        pytest.param(POD, 'kind "Pod" is not applied by dsctl', id="pod"),
        pytest.param(DS.format(name="Bad_Name"), "metadata.name", id="invalid-name"),
        pytest.param(DS.format(name="a").replace("selector", "selectr"), "spec.selectr",
                     id="unknown-field"),
        pytest.param("", "no objects passed to apply", id="empty"),
        pytest.param(b"\xff\xfe", "not UTF-8", id="binary"),
    ],
)
def test_refusals_name_the_problem(tmp_path: Path, content: str | bytes, message: str) -> None:
    path = tmp_path / "m.yaml"
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content)
    with pytest.raises(ManifestError, match=message):
        load([str(path)])


def test_missing_path(tmp_path: Path) -> None:
    with pytest.raises(ManifestError, match="does not exist"):
        load([str(tmp_path / "nope.yaml")])
