"""Deployment files: valid against their schemas, and following the rules operators rely on."""

from __future__ import annotations

import ipaddress
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from gateway.settings import PROJECT_ROOT, Settings

CHECK = [sys.executable, "-m", "check_jsonschema"]


def load(path: str) -> Any:
    return yaml.safe_load((PROJECT_ROOT / path).read_text())


@pytest.mark.parametrize(
    ("schema", "files"),
    [
        ("vendor.compose-spec", ["docker-compose.yml"]),
        (
            "vendor.github-workflows",
            sorted(str(p) for p in (PROJECT_ROOT / ".github/workflows").glob("*.yml")),
        ),
    ],
)
def test_files_validate_against_their_published_schemas(schema: str, files: list[str]) -> None:
    assert files
    result = subprocess.run(
        [*CHECK, "--builtin-schema", schema, *files],
        capture_output=True,
        text=True,
        cwd=PROJECT_ROOT,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_an_invalid_compose_file_is_caught(tmp_path: Path) -> None:
    bad = tmp_path / "compose.yml"
    bad.write_text("services:\n  web:\n    image: x\n    ports: 8000\n")
    result = subprocess.run(
        [*CHECK, "--builtin-schema", "vendor.compose-spec", str(bad)],
        capture_output=True,
        text=True,
    )
    assert result.returncode != 0


# Dockerfile ---------------------------------------------------------------------------------

DOCKERFILE = (PROJECT_ROOT / "Dockerfile").read_text()
INSTRUCTIONS = [
    line.strip()
    for line in re.sub(r"\\\n", " ", DOCKERFILE).splitlines()
    if line.strip() and not line.strip().startswith("#")
]


def final_stage() -> list[str]:
    starts = [i for i, line in enumerate(INSTRUCTIONS) if line.startswith("FROM ")]
    return INSTRUCTIONS[starts[-1] :]


def test_dockerfile_is_multi_stage_on_a_slim_base() -> None:
    bases = [line.split()[1] for line in INSTRUCTIONS if line.startswith("FROM ")]
    assert len(bases) >= 2
    assert all("slim" in base or "alpine" in base for base in bases)


def test_dependencies_get_their_own_layer_before_the_code() -> None:
    copies = [line for line in INSTRUCTIONS if line.startswith("COPY ")]
    first_pyproject = next(i for i, c in enumerate(copies) if "pyproject.toml" in c)
    first_code = next(i for i, c in enumerate(copies) if re.search(r"\bgateway\b", c))
    assert first_pyproject < first_code


def test_runs_as_a_non_root_user() -> None:
    users = [line.split()[1] for line in final_stage() if line.startswith("USER ")]
    assert users and users[-1] not in ("root", "0", "0:0")


def test_healthcheck_probes_livez() -> None:
    checks = [line for line in final_stage() if line.startswith("HEALTHCHECK ")]
    assert checks and "/livez" in checks[0]


def test_uvicorn_leaves_client_addresses_to_the_app_and_bounds_shutdown() -> None:
    command = next(line for line in final_stage() if line.startswith("CMD "))
    # The app takes X-Forwarded-For from FORWARDED_ALLOW_IPS only; uvicorn must not trust
    # it on its own (the image used to pass --forwarded-allow-ips "*").
    assert "--no-proxy-headers" in command
    assert "--forwarded-allow-ips" not in command
    assert '"gateway.app:app_from_env", "--factory"' in command
    grace = re.search(r'"--timeout-graceful-shutdown",\s*"(\d+)"', command)
    assert grace and 0 < int(grace.group(1)) <= 30


def test_dockerignore_keeps_the_context_small_and_secret_free() -> None:
    ignored = (PROJECT_ROOT / ".dockerignore").read_text().split()
    for entry in (".git", ".venv", ".gateway", "tests", ".env"):
        assert entry in ignored


# Compose ------------------------------------------------------------------------------------


def test_compose_topology() -> None:
    compose = load("docker-compose.yml")
    services = compose["services"]
    for name in ("postgres", "redis"):
        assert "healthcheck" in services[name]
        assert services[name]["volumes"]
    assert services["migrate"]["command"] == ["gateway", "migrate"]
    assert services["migrate"]["restart"] == "no"
    gateway = services["gateway"]
    assert gateway["deploy"]["replicas"] == 2
    assert gateway["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
    assert "nginx" in services["proxy"]["image"]
    assert (PROJECT_ROOT / "deploy/nginx/nginx.conf").exists()
    # The `replica` profile: a hot standby of postgres that the gateways may read from.
    standby = services["postgres-standby"]
    assert standby["profiles"] == ["replica"]
    assert "pg_basebackup" in standby["command"][-1] and " -R " in standby["command"][-1]
    assert standby["depends_on"]["postgres"]["condition"] == "service_healthy"
    assert "DATABASE_READ_URL" in compose["x-gateway-env"]
    assert all("profiles" not in services[name] for name in ("postgres", "gateway", "proxy"))


def test_no_secret_lives_in_the_repository() -> None:
    compose = (PROJECT_ROOT / "docker-compose.yml").read_text()
    for variable in ("POSTGRES_PASSWORD", "JWT_SECRET"):
        assert re.search(rf"\${{{variable}:\?", compose), variable
    example = dict(
        line.split("=", 1)
        for line in (PROJECT_ROOT / ".env.example").read_text().splitlines()
        if line and not line.startswith("#")
    )
    assert example["POSTGRES_PASSWORD"] == "" and example["JWT_SECRET"] == ""


# Trusted proxies and metrics ------------------------------------------------------------------

SHIPPED = [
    "Dockerfile",
    "docker-compose.yml",
    ".env.example",
    *sorted(
        str(p.relative_to(PROJECT_ROOT))
        for p in (PROJECT_ROOT / "deploy").rglob("*")
        if p.is_file()
    ),
]


@pytest.mark.parametrize("path", SHIPPED)
def test_no_shipped_file_trusts_every_proxy(path: str) -> None:
    text = (PROJECT_ROOT / path).read_text()
    assert not re.search(r"forwarded[-_]allow[-_]ips\W+\*", text, re.IGNORECASE), path
    assert "$proxy_add_x_forwarded_for" not in text, path


def test_compose_trusts_only_its_nginx_and_keeps_metrics_off_the_public_port() -> None:
    compose = load("docker-compose.yml")
    services = compose["services"]
    proxy_address = services["proxy"]["networks"]["default"]["ipv4_address"]
    environment = services["gateway"]["environment"]
    assert environment["FORWARDED_ALLOW_IPS"] == proxy_address
    settings = Settings.from_env({k: str(v) for k, v in environment.items() if "$" not in str(v)})
    assert settings.forwarded_allow_ips == (proxy_address,)
    subnet = compose["networks"]["default"]["ipam"]["config"][0]["subnet"]
    assert ipaddress.ip_address(proxy_address) in ipaddress.ip_network(subnet)
    assert settings.metrics_port is not None
    assert "ports" not in services["gateway"]


def test_nginx_sets_the_client_address_itself() -> None:
    conf = (PROJECT_ROOT / "deploy/nginx/nginx.conf").read_text()
    assert re.search(r"proxy_set_header\s+X-Forwarded-For\s+\$remote_addr;", conf)


def test_kubernetes_names_its_proxies_and_scrapes_the_metrics_port() -> None:
    config = load("deploy/k8s/configmap.yaml")["data"]
    settings = Settings.from_env(config)
    assert settings.forwarded_allow_ips and "*" not in config["FORWARDED_ALLOW_IPS"]
    pod = load("deploy/k8s/deployment.yaml")["spec"]["template"]
    ports = {p["name"]: p["containerPort"] for p in pod["spec"]["containers"][0]["ports"]}
    assert ports["metrics"] == settings.metrics_port
    assert pod["metadata"]["annotations"]["prometheus.io/port"] == str(settings.metrics_port)
    service = load("deploy/k8s/service.yaml")["spec"]
    assert [p["targetPort"] for p in service["ports"]] == ["http"]


# GitHub workflow ------------------------------------------------------------------------------


def test_workflow_jobs() -> None:
    workflow = load(".github/workflows/ci.yml")
    jobs = workflow["jobs"]
    assert {"lint", "test", "image", "deploy-staging"} <= set(jobs)
    assert {"postgres", "redis"} <= set(jobs["test"]["services"])
    assert "refs/heads/main" in jobs["image"]["if"]
    assert jobs["deploy-staging"]["needs"] == "image"
    assert jobs["deploy-staging"]["environment"]["name"] == "staging"


# Kubernetes ---------------------------------------------------------------------------------


def test_kubernetes_manifests() -> None:
    kustomization = load("deploy/k8s/kustomization.yaml")
    documents = {
        load(f"deploy/k8s/{name}")["kind"]: load(f"deploy/k8s/{name}")
        for name in kustomization["resources"]
    }
    assert {"Deployment", "Service", "HorizontalPodAutoscaler", "ConfigMap", "CronJob"} <= set(
        documents
    )
    pod = documents["Deployment"]["spec"]["template"]["spec"]
    container = pod["containers"][0]
    assert container["livenessProbe"]["httpGet"]["path"] == "/livez"
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert container["resources"]["limits"]["memory"] and container["resources"]["requests"]["cpu"]
    assert {"configMapRef": {"name": "gateway-config"}} in container["envFrom"]
    assert {"secretRef": {"name": "gateway-secrets"}} in container["envFrom"]
    assert pod["securityContext"]["runAsNonRoot"] is True
    hpa = documents["HorizontalPodAutoscaler"]["spec"]
    assert hpa["minReplicas"] >= 2 and hpa["maxReplicas"] > hpa["minReplicas"]
    assert "JWT_SECRET" not in documents["ConfigMap"]["data"]
    # The read replica's URL is a secret, optional, and its staleness bound a setting.
    read_url = {"name": "gateway-secrets", "key": "DATABASE_READ_URL", "optional": True}
    assert {"name": "DATABASE_READ_URL", "valueFrom": {"secretKeyRef": read_url}} in container[
        "env"
    ]
    assert "DATABASE_READ_URL" not in documents["ConfigMap"]["data"]
    assert int(documents["ConfigMap"]["data"]["DATABASE_READ_MAX_LAG_SECONDS"]) > 0
