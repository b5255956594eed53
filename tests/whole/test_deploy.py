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

from bench.topology import RedisClusterServers, redis_binaries
from gateway.cache.engines import open_engine
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


# Redis Cluster: compose profile `cluster` and the Kubernetes component ------------------------

PROFILES = [(), ("replica",), ("cluster",), ("replica", "cluster")]


def enabled(services: dict[str, Any], profiles: tuple[str, ...]) -> set[str]:
    """The services `docker compose --profile ... up` starts with these profiles."""
    return {
        name
        for name, service in services.items()
        if not service.get("profiles") or set(service["profiles"]) & set(profiles)
    }


def cluster_seeds(url: str) -> list[tuple[str, int]]:
    """The seeds of a `redis+cluster://` URL, as the gateway's own cache engine reads it."""
    settings = Settings.from_env({"REDIS_URL": url})
    assert settings.redis_url == url
    engine = open_engine(url, timeout=0.1, max_connections=1)
    assert engine.kind == "cluster"
    return [(node.host, node.port) for node in engine.client.nodes_manager.startup_nodes.values()]


def script_of(command: list[str]) -> str:
    assert command[:2] == ["sh", "-c"], command
    return command[2]


@pytest.mark.parametrize("profiles", PROFILES)
def test_every_profile_combination_starts_what_its_services_wait_for(
    profiles: tuple[str, ...],
) -> None:
    compose = load("docker-compose.yml")
    services = compose["services"]
    running = enabled(services, profiles)
    for name in running:
        for needed, how in services[name].get("depends_on", {}).items():
            assert needed in running or how.get("required") is False, (name, needed)
    subnet = ipaddress.ip_network(compose["networks"]["default"]["ipam"]["config"][0]["subnet"])
    fixed = [
        services[name]["networks"]["default"]["ipv4_address"]
        for name in running
        if "networks" in services[name]
    ]
    assert len(fixed) == len(set(fixed))
    assert all(ipaddress.ip_address(address) in subnet for address in fixed)


def test_compose_cluster_profile() -> None:
    compose = load("docker-compose.yml")
    services = compose["services"]
    nodes = {
        name: service
        for name, service in services.items()
        if "--cluster-enabled" in service.get("command", [])
    }
    assert len(nodes) == 6
    for node in nodes.values():
        assert node["profiles"] == ["cluster"]
        assert node["image"].startswith("redis:7")
        command = node["command"]
        assert command[command.index("--cluster-enabled") + 1] == "yes"
        assert command[command.index("--cluster-config-file") + 1].startswith("/data/")
        assert node["volumes"][0].endswith(":/data")
        assert node["volumes"][0].split(":")[0] in compose["volumes"]
        assert "healthcheck" in node
    addresses = {
        f"{node['networks']['default']['ipv4_address']}:6379": name for name, node in nodes.items()
    }
    init = services["redis-cluster-init"]
    assert init["profiles"] == ["cluster"] and init["restart"] == "no"
    assert set(init["depends_on"]) == set(nodes)
    script = script_of(init["command"])
    listed = re.search(r'nodes="([^"]+)"', script)
    assert listed and sorted(listed.group(1).split()) == sorted(addresses)
    assert "--cluster-replicas 1 --cluster-yes" in script
    # The gateways wait for it when the profile is on, and name the cluster when .env says so.
    gateway = services["gateway"]
    waits = gateway["depends_on"]["redis-cluster-init"]
    assert waits == {"condition": "service_completed_successfully", "required": False}
    assert compose["x-gateway-env"]["REDIS_URL"] == "${REDIS_URL:-redis://redis:6379/0}"
    assert "profiles" not in services["redis"]
    example = (PROJECT_ROOT / ".env.example").read_text()
    url = re.search(r"redis\+cluster://\S+", example)
    assert url
    for host, port in cluster_seeds(url.group(0)):
        assert host in nodes and port == 6379


def test_kubernetes_redis_cluster_component() -> None:
    folder = "deploy/k8s/redis-cluster"
    component = load(f"{folder}/kustomization.yaml")
    assert component["kind"] == "Component"
    documents = {
        load(f"{folder}/{name}")["kind"]: load(f"{folder}/{name}")
        for name in component["resources"]
    }
    assert {"StatefulSet", "Service", "Job", "PodDisruptionBudget"} <= set(documents)
    service, nodes = documents["Service"], documents["StatefulSet"]
    assert service["spec"]["clusterIP"] == "None" and service["spec"]["publishNotReadyAddresses"]
    assert nodes["spec"]["serviceName"] == service["metadata"]["name"]
    assert nodes["spec"]["replicas"] == 6
    labels = nodes["spec"]["template"]["metadata"]["labels"]
    assert service["spec"]["selector"] == labels == nodes["spec"]["selector"]["matchLabels"]
    container = nodes["spec"]["template"]["spec"]["containers"][0]
    assert container["image"].startswith("redis:7")
    args = container["args"]
    assert args[args.index("--cluster-enabled") + 1] == "yes"
    suffix = f".{service['metadata']['name']}"
    assert args[args.index("--cluster-announce-hostname") + 1] == f"$(POD_NAME){suffix}"
    assert args[args.index("--cluster-preferred-endpoint-type") + 1] == "hostname"
    assert {p["containerPort"] for p in container["ports"]} == {6379, 16379}
    mount = container["volumeMounts"][0]
    assert mount["name"] == nodes["spec"]["volumeClaimTemplates"][0]["metadata"]["name"]
    assert args[args.index("--cluster-config-file") + 1].startswith(mount["mountPath"] + "/")
    pods = [f"{nodes['metadata']['name']}-{i}{suffix}" for i in range(nodes["spec"]["replicas"])]
    script = script_of(documents["Job"]["spec"]["template"]["spec"]["containers"][0]["command"])
    loop = re.search(r"for i in ([\d ]+); do\s+node=\"([^\"]+)\"", script)
    assert loop
    assert [loop.group(2).replace("$i", i) for i in loop.group(1).split()] == pods
    assert "--cluster-replicas 1 --cluster-yes" in script
    # The gateway's REDIS_URL, set by the component's patch, names pods of the StatefulSet.
    base = load("deploy/k8s/deployment.yaml")
    patch = load(f"{folder}/{component['patches'][0]['path']}")
    assert (patch["kind"], patch["metadata"]["name"]) == (base["kind"], base["metadata"]["name"])
    patched = patch["spec"]["template"]["spec"]["containers"][0]
    assert patched["name"] == base["spec"]["template"]["spec"]["containers"][0]["name"]
    url = next(e["value"] for e in patched["env"] if e["name"] == "REDIS_URL")
    seeds = cluster_seeds(url)
    assert len(seeds) >= 2
    assert all(host in pods and port == 6379 for host, port in seeds)
    # The overlay puts it beside the default deployment, which stays as it was.
    overlay = load("deploy/k8s/overlays/redis-cluster/kustomization.yaml")
    assert overlay["resources"] == ["../.."]
    assert overlay["components"] == ["../../redis-cluster"]
    assert overlay["namespace"] == load("deploy/k8s/kustomization.yaml")["namespace"]
    assert "components" not in load("deploy/k8s/kustomization.yaml")


_REDIS_CLI = """#!{python}
# redis-cli as the init scripts call it, with their node names mapped to loopback ports.
import os, sys
ports, real = {ports!r}, {real!r}
args, given = [], iter(sys.argv[1:])
for arg in given:
    if arg == "-h":
        args += ["-h", "127.0.0.1", "-p", str(ports[next(given)])]
        continue
    host, colon, _ = arg.rpartition(":")
    args.append(f"127.0.0.1:{{ports[host]}}" if colon and host in ports else arg)
os.execv(real, [real, *args])
"""


def _init_scripts() -> list[tuple[str, list[str]]]:
    """Each init script with the node names it uses, in the order it lists them."""
    compose = load("docker-compose.yml")["services"]
    compose_script = script_of(compose["redis-cluster-init"]["command"]).replace("$$", "$")
    addresses = re.search(r'nodes="([^"]+)"', compose_script)
    assert addresses
    job = load("deploy/k8s/redis-cluster/init-job.yaml")["spec"]["template"]["spec"]
    names = [f"redis-cluster-{i}.redis-cluster" for i in range(6)]
    return [
        (compose_script, [a.rsplit(":", 1)[0] for a in addresses.group(1).split()]),
        (script_of(job["containers"][0]["command"]), names),
    ]


@pytest.mark.parametrize("which", ["compose", "kubernetes"])
def test_the_cluster_init_script_creates_the_cluster_once(which: str, tmp_path: Path) -> None:
    script, names = _init_scripts()[["compose", "kubernetes"].index(which)]
    servers = RedisClusterServers(replicas=1)
    try:
        servers.start_nodes()
        ports = {name: node.port for name, node in zip(names, servers.nodes, strict=True)}
        _, real = redis_binaries()
        cli = tmp_path / "redis-cli"
        cli.write_text(_REDIS_CLI.format(python=sys.executable, ports=ports, real=str(real)))
        cli.chmod(0o755)
        env = {"PATH": f"{tmp_path}:/usr/bin:/bin"}

        def run_script() -> None:
            done = subprocess.run(
                ["sh", "-c", script], env=env, capture_output=True, text=True, timeout=60
            )
            assert done.returncode == 0, done.stdout + done.stderr

        run_script()
        servers.wait_until_healthy()
        first = servers.nodes[0].client()
        created = (first.cluster("info")["cluster_current_epoch"], first.cluster("myid"))
        assert len(servers.masters_seen_by(servers.nodes[0])) == 3
        # Run again, as after a restart of the stack: the same cluster, not a new one.
        run_script()
        assert (first.cluster("info")["cluster_current_epoch"], first.cluster("myid")) == created
        assert int(first.cluster("info")["cluster_known_nodes"]) == 6
        first.close()
    finally:
        servers.stop()
