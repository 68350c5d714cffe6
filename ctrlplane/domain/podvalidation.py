"""Validation of a PodSpec as Kubernetes' core ValidatePodSpec does it, for the fields we model.

Containers, init containers, volumes and mounts, ports, env, probes, resources,
restart and DNS policy, node selector, affinity and tolerations. Every problem
is collected with its field path; nothing stops at the first. Selector,
node-affinity and toleration rules come from the modules that match them
(labels, nodeaffinity, taints), so what validation accepts is what scheduling
understands. Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from ctrlplane._proto.v1 import objects_pb2
from ctrlplane.domain import fielderrors as fe
from ctrlplane.domain import names
from ctrlplane.domain.errors import FieldError
from ctrlplane.domain.labels import selector_errors
from ctrlplane.domain.nodeaffinity import node_affinity_errors
from ctrlplane.domain.quantity import QUANTITY_HINT, parse_quantity
from ctrlplane.domain.taints import toleration_errors

RESTART_POLICIES = ("Always", "OnFailure", "Never")
# "None" needs a dnsConfig, which we do not model.
DNS_POLICIES = ("ClusterFirstWithHostNet", "ClusterFirst", "Default")
PULL_POLICIES = ("Always", "IfNotPresent", "Never")
PROTOCOLS = ("TCP", "UDP", "SCTP")
HOST_PATH_TYPES = (
    "",
    "DirectoryOrCreate",
    "Directory",
    "FileOrCreate",
    "File",
    "Socket",
    "CharDevice",
    "BlockDevice",
)
TERMINATION_MESSAGE_POLICIES = ("File", "FallbackToLogsOnError")
SCHEMES = ("HTTP", "HTTPS")
STANDARD_RESOURCES = ("cpu", "memory", "ephemeral-storage")


def names_errors(value: str, path: str, check: str = "label") -> list[FieldError]:
    """`value` as a DNS-1123 label (or subdomain), as field.Invalid errors at `path`."""
    msgs = names.is_dns1123_label(value) if check == "label" else names.is_dns1123_subdomain(value)
    return [fe.invalid(path, value, msg) for msg in msgs]


def label_map_errors(labels: Mapping[str, str], path: str) -> list[FieldError]:
    """ValidateLabels: keys are qualified names, values label values."""
    errors: list[FieldError] = []
    for key in sorted(labels):
        errors += [fe.invalid(path, key, msg) for msg in names.is_qualified_name(key)]
        value = labels[key]
        errors += [
            fe.invalid(f"{path}[{key}]", value, m) for m in names.is_valid_label_value(value)
        ]
    return errors


def pod_spec_errors(spec: objects_pb2.PodSpec, path: str) -> list[FieldError]:
    errors: list[FieldError] = []
    volumes, volume_errors = _volumes(spec.volumes, f"{path}.volumes")
    errors += volume_errors
    seen_names: set[str] = set()
    errors += _containers(spec.init_containers, f"{path}.initContainers", volumes, seen_names, True)
    errors += _containers(spec.containers, f"{path}.containers", volumes, seen_names, False)
    if not spec.containers:
        errors.append(fe.required(f"{path}.containers"))
    if spec.host_network:
        errors += _host_network_ports(spec, path)
    if not spec.restart_policy:
        errors.append(fe.required(f"{path}.restartPolicy"))
    elif spec.restart_policy not in RESTART_POLICIES:
        errors.append(
            fe.not_supported(f"{path}.restartPolicy", spec.restart_policy, RESTART_POLICIES)
        )
    if not spec.dns_policy:
        errors.append(fe.required(f"{path}.dnsPolicy"))
    elif spec.dns_policy not in DNS_POLICIES:
        errors.append(fe.not_supported(f"{path}.dnsPolicy", spec.dns_policy, DNS_POLICIES))
    errors += fe.non_negative(
        f"{path}.terminationGracePeriodSeconds", spec.termination_grace_period_seconds
    )
    errors += label_map_errors(spec.node_selector, f"{path}.nodeSelector")
    for field, json_name in (
        (spec.service_account_name, "serviceAccountName"),
        (spec.node_name, "nodeName"),
        (spec.priority_class_name, "priorityClassName"),
    ):
        if field:
            errors += names_errors(field, f"{path}.{json_name}", "subdomain")
    if spec.HasField("affinity"):
        errors += _affinity(spec, path)
    errors += toleration_errors(spec.tolerations, f"{path}.tolerations")
    return errors


def _volumes(volumes: Sequence[objects_pb2.Volume], path: str) -> tuple[set[str], list[FieldError]]:
    errors: list[FieldError] = []
    seen: set[str] = set()
    for i, volume in enumerate(volumes):
        p = f"{path}[{i}]"
        if not volume.name:
            errors.append(fe.required(f"{p}.name"))
        else:
            errors += names_errors(volume.name, f"{p}.name")
            if volume.name in seen:
                errors.append(fe.duplicate(f"{p}.name", volume.name))
            seen.add(volume.name)
        sources = [n for n in ("host_path", "empty_dir") if volume.HasField(n)]
        if not sources:
            errors.append(fe.required(p, "must specify a volume type"))
        elif len(sources) > 1:
            errors.append(fe.forbidden(f"{p}.emptyDir", "may not specify more than 1 volume type"))
        if volume.HasField("host_path"):
            errors += _host_path(volume.host_path, f"{p}.hostPath")
        if volume.HasField("empty_dir"):
            errors += _empty_dir(volume.empty_dir, f"{p}.emptyDir")
    return seen, errors


def _host_path(source: objects_pb2.HostPathVolumeSource, path: str) -> list[FieldError]:
    errors: list[FieldError] = []
    if not source.path:
        errors.append(fe.required(f"{path}.path"))
    else:
        # Kubernetes only forbids '..'; the process runtime needs an absolute path to link.
        if not source.path.startswith("/"):
            errors.append(fe.invalid(f"{path}.path", source.path, "must be an absolute path"))
        if ".." in source.path.split("/"):
            errors.append(fe.invalid(f"{path}.path", source.path, "must not contain '..'"))
    if source.type not in HOST_PATH_TYPES:
        errors.append(fe.not_supported(f"{path}.type", source.type, HOST_PATH_TYPES[1:]))
    return errors


def _empty_dir(source: objects_pb2.EmptyDirVolumeSource, path: str) -> list[FieldError]:
    errors: list[FieldError] = []
    if source.medium not in ("", "Memory"):
        errors.append(fe.not_supported(f"{path}.medium", source.medium, ("", "Memory")))
    if source.size_limit:
        errors += _quantity(source.size_limit, f"{path}.sizeLimit")
    return errors


def _quantity(value: str, path: str) -> list[FieldError]:
    try:
        amount = parse_quantity(value)
    except ValueError:
        return [fe.invalid(path, value, f"quantities {QUANTITY_HINT}")]
    if amount < 0:
        return [fe.invalid(path, value, "must be greater than or equal to 0")]
    return []


def _containers(
    containers: Sequence[objects_pb2.Container],
    path: str,
    volumes: set[str],
    seen_names: set[str],
    init: bool,
) -> list[FieldError]:
    errors: list[FieldError] = []
    for i, c in enumerate(containers):
        p = f"{path}[{i}]"
        if not c.name:
            errors.append(fe.required(f"{p}.name"))
        else:
            errors += names_errors(c.name, f"{p}.name")
            if c.name in seen_names:  # unique across containers and initContainers
                errors.append(fe.duplicate(f"{p}.name", c.name))
            seen_names.add(c.name)
        if not c.image:
            errors.append(fe.required(f"{p}.image"))
        elif c.image != c.image.strip():
            errors.append(
                fe.invalid(f"{p}.image", c.image, "must not have leading or trailing whitespace")
            )
        if not c.image_pull_policy:
            errors.append(fe.required(f"{p}.imagePullPolicy"))
        elif c.image_pull_policy not in PULL_POLICIES:
            errors.append(
                fe.not_supported(f"{p}.imagePullPolicy", c.image_pull_policy, PULL_POLICIES)
            )
        if c.termination_message_policy not in TERMINATION_MESSAGE_POLICIES:
            errors.append(
                fe.not_supported(
                    f"{p}.terminationMessagePolicy",
                    c.termination_message_policy,
                    TERMINATION_MESSAGE_POLICIES,
                )
            )
        errors += _ports(c.ports, f"{p}.ports")
        errors += _env(c.env, f"{p}.env")
        errors += _mounts(c.volume_mounts, f"{p}.volumeMounts", volumes)
        errors += _resources(c.resources, f"{p}.resources")
        for field, json_name in (
            ("readiness_probe", "readinessProbe"),
            ("liveness_probe", "livenessProbe"),
        ):
            if not c.HasField(field):
                continue
            if init:
                errors.append(
                    fe.forbidden(f"{p}.{json_name}", "may not be set for init containers")
                )
                continue
            probe: objects_pb2.Probe = getattr(c, field)
            errors += _probe(probe, f"{p}.{json_name}")
            if field == "liveness_probe" and probe.success_threshold != 1:
                errors.append(
                    fe.invalid(
                        f"{p}.{json_name}.successThreshold", probe.success_threshold, "must be 1"
                    )
                )
    return errors


def _ports(ports: Sequence[objects_pb2.ContainerPort], path: str) -> list[FieldError]:
    errors: list[FieldError] = []
    seen: set[str] = set()
    for i, port in enumerate(ports):
        p = f"{path}[{i}]"
        if port.name:
            errors += [
                fe.invalid(f"{p}.name", port.name, m) for m in names.is_valid_port_name(port.name)
            ]
            if port.name in seen:
                errors.append(fe.duplicate(f"{p}.name", port.name))
            seen.add(port.name)
        if port.container_port == 0:
            errors.append(fe.required(f"{p}.containerPort"))
        else:
            errors += [
                fe.invalid(f"{p}.containerPort", port.container_port, m)
                for m in names.is_valid_port_num(port.container_port)
            ]
        if port.host_port != 0:
            errors += [
                fe.invalid(f"{p}.hostPort", port.host_port, m)
                for m in names.is_valid_port_num(port.host_port)
            ]
        if not port.protocol:
            errors.append(fe.required(f"{p}.protocol"))
        elif port.protocol not in PROTOCOLS:
            errors.append(fe.not_supported(f"{p}.protocol", port.protocol, PROTOCOLS))
    return errors


def _host_network_ports(spec: objects_pb2.PodSpec, path: str) -> list[FieldError]:
    errors: list[FieldError] = []
    for kind, containers in (
        ("initContainers", spec.init_containers),
        ("containers", spec.containers),
    ):
        for i, c in enumerate(containers):
            for j, port in enumerate(c.ports):
                if port.host_port and port.host_port != port.container_port:
                    errors.append(
                        fe.invalid(
                            f"{path}.{kind}[{i}].ports[{j}].hostPort",
                            port.host_port,
                            "must match `containerPort` when `hostNetwork` is true",
                        )
                    )
    return errors


def _env(env: Sequence[objects_pb2.EnvVar], path: str) -> list[FieldError]:
    errors: list[FieldError] = []
    for i, var in enumerate(env):
        if not var.name:
            errors.append(fe.required(f"{path}[{i}].name"))
        else:
            errors += [
                fe.invalid(f"{path}[{i}].name", var.name, m)
                for m in names.is_env_var_name(var.name)
            ]
    return errors


def _mounts(
    mounts: Sequence[objects_pb2.VolumeMount], path: str, volumes: set[str]
) -> list[FieldError]:
    errors: list[FieldError] = []
    seen_paths: set[str] = set()
    for i, mount in enumerate(mounts):
        p = f"{path}[{i}]"
        if not mount.name:
            errors.append(fe.required(f"{p}.name"))
        elif mount.name not in volumes:
            errors.append(fe.not_found(f"{p}.name", mount.name))
        if not mount.mount_path:
            errors.append(fe.required(f"{p}.mountPath"))
        elif mount.mount_path in seen_paths:
            errors.append(fe.invalid(f"{p}.mountPath", mount.mount_path, "must be unique"))
        seen_paths.add(mount.mount_path)
        if mount.sub_path:
            if mount.sub_path.startswith("/"):
                errors.append(fe.invalid(f"{p}.subPath", mount.sub_path, "must be a relative path"))
            if ".." in mount.sub_path.split("/"):
                errors.append(fe.invalid(f"{p}.subPath", mount.sub_path, "must not contain '..'"))
    return errors


def _resources(res: objects_pb2.ResourceRequirements, path: str) -> list[FieldError]:
    errors: list[FieldError] = []
    for kind, values in (("limits", res.limits), ("requests", res.requests)):
        for name in sorted(values):
            p = f"{path}.{kind}[{name}]"
            standard = name in STANDARD_RESOURCES or name.startswith("hugepages-")
            # Extended resources need a domain prefix, like example.com/gpu.
            if not standard and ("/" not in name or names.is_qualified_name(name)):
                errors.append(
                    fe.invalid(p, name, "must be a standard resource type or fully qualified")
                )
            errors += _quantity(values[name], p)
    for name, request in res.requests.items():
        if name in res.limits:
            try:
                too_big = parse_quantity(request) > parse_quantity(res.limits[name])
            except ValueError:
                continue  # reported above
            if too_big:
                errors.append(
                    fe.invalid(
                        f"{path}.requests[{name}]",
                        request,
                        f"must be less than or equal to {name} limit of {res.limits[name]}",
                    )
                )
    return errors


def _probe(probe: objects_pb2.Probe, path: str) -> list[FieldError]:
    errors: list[FieldError] = []
    handlers = [n for n in ("exec", "http_get", "tcp_socket") if probe.HasField(n)]
    if not handlers:
        errors.append(fe.required(path, "must specify a handler type"))
    elif len(handlers) > 1:
        errors.append(fe.forbidden(path, "may not specify more than 1 handler type"))
    if probe.HasField("exec") and not probe.exec.command:
        errors.append(fe.required(f"{path}.exec.command"))
    if probe.HasField("http_get"):
        get = probe.http_get
        if not get.path:
            errors.append(fe.required(f"{path}.httpGet.path"))
        errors += _port_num_or_name(get.port, f"{path}.httpGet.port")
        if get.scheme not in SCHEMES:
            errors.append(fe.not_supported(f"{path}.httpGet.scheme", get.scheme, SCHEMES))
        for j, header in enumerate(get.http_headers):
            if not header.name:
                errors.append(fe.required(f"{path}.httpGet.httpHeaders[{j}].name"))
    if probe.HasField("tcp_socket"):
        errors += _port_num_or_name(probe.tcp_socket.port, f"{path}.tcpSocket.port")
    for value, name in (
        (probe.initial_delay_seconds, "initialDelaySeconds"),
        (probe.timeout_seconds, "timeoutSeconds"),
        (probe.period_seconds, "periodSeconds"),
        (probe.success_threshold, "successThreshold"),
        (probe.failure_threshold, "failureThreshold"),
    ):
        errors += fe.non_negative(f"{path}.{name}", value)
    return errors


def _port_num_or_name(port: str, path: str) -> list[FieldError]:
    """ValidatePortNumOrName on our string form: digits are a number, else an IANA name."""
    if not port:
        return [fe.required(path)]
    if port.lstrip("-").isdigit():
        return [fe.invalid(path, int(port), m) for m in names.is_valid_port_num(int(port))]
    return [fe.invalid(path, port, m) for m in names.is_valid_port_name(port)]


def _affinity(spec: objects_pb2.PodSpec, path: str) -> list[FieldError]:
    errors = node_affinity_errors(spec, path)
    affinity = spec.affinity
    base = f"{path}.affinity"
    if affinity.HasField("node_affinity"):
        node = affinity.node_affinity
        if node.HasField("required_during_scheduling_ignored_during_execution"):
            req = node.required_during_scheduling_ignored_during_execution
            if not req.node_selector_terms:
                errors.append(
                    fe.required(
                        f"{base}.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution"
                        ".nodeSelectorTerms",
                        "must have at least one node selector term",
                    )
                )
    for field, json_name in (
        ("pod_affinity", "podAffinity"),
        ("pod_anti_affinity", "podAntiAffinity"),
    ):
        if not affinity.HasField(field):
            continue
        group = getattr(affinity, field)
        p = f"{base}.{json_name}"
        for i, term in enumerate(group.required_during_scheduling_ignored_during_execution):
            errors += _pod_affinity_term(
                term, f"{p}.requiredDuringSchedulingIgnoredDuringExecution[{i}]"
            )
        for i, weighted in enumerate(group.preferred_during_scheduling_ignored_during_execution):
            wp = f"{p}.preferredDuringSchedulingIgnoredDuringExecution[{i}]"
            if not 1 <= weighted.weight <= 100:
                errors.append(
                    fe.invalid(f"{wp}.weight", weighted.weight, "must be in the range 1-100")
                )
            errors += _pod_affinity_term(weighted.pod_affinity_term, f"{wp}.podAffinityTerm")
    return errors


def _pod_affinity_term(term: objects_pb2.PodAffinityTerm, path: str) -> list[FieldError]:
    errors: list[FieldError] = []
    if term.HasField("label_selector"):
        errors += selector_errors(term.label_selector, f"{path}.labelSelector")
    if term.HasField("namespace_selector"):
        errors += selector_errors(term.namespace_selector, f"{path}.namespaceSelector")
    for i, ns in enumerate(term.namespaces):
        errors += names_errors(ns, f"{path}.namespaces[{i}]")
    if not term.topology_key:
        errors.append(fe.required(f"{path}.topologyKey", "can not be empty"))
    else:
        errors += [
            fe.invalid(f"{path}.topologyKey", term.topology_key, m)
            for m in names.is_qualified_name(term.topology_key)
        ]
    return errors
