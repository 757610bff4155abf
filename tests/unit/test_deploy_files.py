"""The files ops run the help desk from: docker-compose.yml as Debian's docker-compose reads
it, the Kubernetes manifests against the Kubernetes schemas, the alerting rules as promtool
reads them — and that they cover every part the code has, and watch only metrics the code
exports."""
import json
import re
import subprocess
from pathlib import Path

import kubernetes_validate
import pytest
import yaml

from helpdesk import infra
from helpdesk.runner import PROCESSES

ROOT = Path(__file__).resolve().parent.parent.parent
K8S = ROOT / "k8s"
KUBERNETES_VERSION = "1.31"
COMPOSE, PROMTOOL = "/usr/bin/docker-compose", "/usr/bin/promtool"


def manifests():
    """(file, document) of every manifest in k8s/ (KEDA's custom resources apart)."""
    return [(path, document) for path in sorted(K8S.glob("*.yaml"))
            for document in yaml.safe_load_all(path.read_text()) if document]


def deployments():
    return {document["metadata"]["name"]: document for _, document in manifests()
            if document["kind"] == "Deployment"}


def test_the_compose_file_is_valid_and_runs_every_part_from_one_image():
    infra.ensure_program(COMPOSE, "docker-compose")
    checked = subprocess.run([COMPOSE, "-f", str(ROOT / "docker-compose.yml"), "config"],
                             capture_output=True, text=True, timeout=60)
    assert checked.returncode == 0, checked.stderr
    services = yaml.safe_load(checked.stdout)["services"]
    for part in PROCESSES:
        assert services[part]["command"] == [part], part
        assert services[part]["image"] == "helpdesk:latest"
        assert "healthcheck" in services[part], part
    assert services["migrate"]["command"] == ["migrate"]
    for engine in ("postgres", "rabbitmq", "elasticsearch", "prometheus"):
        assert engine in services
    assert services["ingest"].get("ports") is None  # so `--scale ingest=N` can add workers


@pytest.mark.parametrize("path", sorted(K8S.glob("*.yaml")), ids=lambda path: path.name)
def test_every_manifest_is_valid_kubernetes(path):
    for document in yaml.safe_load_all(path.read_text()):
        if document:
            kubernetes_validate.validate(document, KUBERNETES_VERSION, strict=True)


def test_every_part_has_a_deployment_with_probes_limits_and_its_own_command():
    found = deployments()
    assert set(found) == set(PROCESSES)
    for name, deployment in found.items():
        [container] = deployment["spec"]["template"]["spec"]["containers"]
        assert container["args"] == [name]
        assert container["readinessProbe"]["httpGet"]["path"] == "/healthz"
        assert container["livenessProbe"]["httpGet"]["path"] == "/livez"
        assert {"cpu", "memory"} <= set(container["resources"]["limits"])
        assert {"cpu", "memory"} <= set(container["resources"]["requests"])
        assert {ref.get("configMapRef", ref.get("secretRef"))["name"]
                for ref in container["envFrom"]} == {"helpdesk-config", "helpdesk-secrets"}


def test_ingest_scales_alone_and_every_part_keeps_a_replica_through_disruptions():
    kinds = {(document["kind"], document["metadata"]["name"]): document
             for _, document in manifests()}
    autoscaler = kinds[("HorizontalPodAutoscaler", "ingest")]
    assert autoscaler["spec"]["scaleTargetRef"]["name"] == "ingest"
    assert [name for kind, name in kinds if kind == "HorizontalPodAutoscaler"] == ["ingest"]
    for part in PROCESSES:
        assert kinds[("PodDisruptionBudget", part)]["spec"]["minAvailable"] == 1
    assert kinds[("Job", "helpdesk-migrate")]["spec"]["template"]["spec"]["containers"][0][
        "args"] == ["migrate"]
    keda = list(yaml.safe_load_all((K8S / "keda" / "ingest-scaledobject.yaml").read_text()))
    assert keda[0]["spec"]["scaleTargetRef"]["name"] == "ingest"
    assert keda[0]["spec"]["triggers"][0]["metadata"]["queueName"] == "ingest.raw_mail"


def test_promtool_accepts_the_alerting_rules():
    infra.ensure_program(PROMTOOL, "prometheus")
    checked = subprocess.run([PROMTOOL, "check", "rules",
                              str(ROOT / "deploy" / "prometheus" / "alerts.yml")],
                             capture_output=True, text=True, timeout=60)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "SUCCESS: 10 rules found" in checked.stdout


def test_alerts_and_dashboard_watch_only_metrics_the_code_exports():
    exported = exported_metric_names()
    watched = set()
    for path in (ROOT / "deploy" / "prometheus" / "alerts.yml",
                 ROOT / "deploy" / "grafana" / "helpdesk.json"):
        watched |= set(re.findall(r"helpdesk_[a-z_]+", path.read_text()))
    watched = {re.sub(r"_(bucket|count|sum)$", "", name) for name in watched}
    assert watched - exported == set()
    json.loads((ROOT / "deploy" / "grafana" / "helpdesk.json").read_text())


def exported_metric_names():
    """Every metric the services, the SMTP listener and the gateway register."""
    import gateway.health  # noqa: F401 -- importing registers their metrics
    import gateway.live  # noqa: F401
    import helpdesk.metrics  # noqa: F401
    import services.escalation.metrics  # noqa: F401
    import services.ingest.metrics  # noqa: F401
    import services.notify.metrics  # noqa: F401
    import services.search.metrics  # noqa: F401
    import services.tickets.metrics  # noqa: F401
    from prometheus_client import REGISTRY

    names = set()
    for family in REGISTRY.collect():
        names |= {family.name, f"{family.name}_total"}
    return names
