"""docker-compose.yml and the Dockerfile, checked without a Docker engine (none runs on CI machines):
the file against the Compose specification's JSON schema, and what each service runs and is told against
this project."""

from __future__ import annotations

import copy
import importlib.util
import json
import re
import shutil
from pathlib import Path

import jsonschema
import pytest
import yaml

from tests.workers import ROOT

COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
DOCKERFILE = (ROOT / "Dockerfile").read_text()
#: Read by a library Facesite hands them to, not by Facesite's own code.
READ_BY_LIBRARIES = {"AWS_ACCESS_KEY_ID": "boto3", "AWS_SECRET_ACCESS_KEY": "boto3", "FLOWER_BASIC_AUTH": "Flower"}


def compose_schema() -> dict:
    """The Compose specification's schema, as the docker-compose wheel ships it (requirements-dev-nodeps.txt)."""
    spec = importlib.util.find_spec("compose")
    assert spec and spec.submodule_search_locations, "pip install --no-deps -r requirements-dev-nodeps.txt"
    return json.loads((Path(spec.submodule_search_locations[0]) / "config" / "compose_spec.json").read_text())


def validation_errors(document: dict) -> list[str]:
    validator = jsonschema.Draft201909Validator(compose_schema())  # the draft its $schema names
    return [f"{'/'.join(map(str, e.path))}: {e.message}" for e in validator.iter_errors(document)]


def app_services() -> dict[str, dict]:
    """The services built from this project's image."""
    return {name: service for name, service in COMPOSE["services"].items() if service.get("build")}


def test_the_compose_file_follows_the_compose_specification():
    assert validation_errors(COMPOSE) == []


def test_the_schema_check_catches_a_mistake():
    broken = copy.deepcopy(COMPOSE)
    broken["services"]["web"]["healthcheck"]["interval"] = ["30s"]
    broken["services"]["redis"]["restart_policy"] = "always"
    errors = validation_errors(broken)
    assert any("web/healthcheck/interval" in e for e in errors)
    assert any("restart_policy" in e for e in errors)


def test_the_deployment_has_every_part_it_needs():
    services = COMPOSE["services"]
    assert {"postgres", "redis", "minio", "minio-bucket", "migrate", "web", "worker", "worker-text", "worker-io",
            "beat", "flower"} <= set(services)  # fmt: skip
    assert "pgvector" in services["postgres"]["image"]
    assert services["redis"]["command"][-4:] == ["--appendonly", "yes", "--maxmemory-policy", "noeviction"]
    assert "FLOWER_BASIC_AUTH" in services["flower"]["environment"]
    assert services["migrate"]["restart"] == services["minio-bucket"]["restart"] == "no", "one-shot steps"
    for name, service in app_services().items():
        conditions = service["depends_on"]
        # Flower reads only Redis; everything else waits for the database to be migrated.
        wanted = {"migrate"} if name not in ("migrate", "flower") else {"postgres", "redis", "minio-bucket"}
        assert wanted <= set(conditions), name
        assert all(isinstance(c, dict) and "condition" in c for c in conditions.values()), name
    for name in ("postgres", "redis", "minio", "web", "worker"):
        assert services[name]["healthcheck"]["test"], name
    assert {"pgdata", "redisdata", "miniodata"} <= set(COMPOSE["volumes"])


@pytest.mark.parametrize("name", sorted(app_services()))
def test_each_service_runs_a_command_this_project_installs(name):
    command = app_services()[name].get("command") or ["gunicorn"]  # the image's CMD
    program = command[0]
    assert program == "python" or shutil.which(program, path=str(ROOT / ".venv" / "bin")), (
        f"{program} is not installed by requirements.txt"
    )
    if command[:2] == ["python", "manage.py"]:
        modules = list(ROOT.glob(f"*/management/commands/{command[2]}.py"))
        assert command[2] in {"migrate", "collectstatic"} or modules


def test_every_variable_the_services_set_is_one_facesite_reads():
    ours = [p for p in ROOT.glob("**/*.py") if not {".venv", "tests"} & set(p.relative_to(ROOT).parts)]
    sources = "\n".join(p.read_text() for p in ours)
    for name, service in app_services().items():
        for variable in service["environment"]:
            if variable in READ_BY_LIBRARIES:
                continue
            assert re.search(rf"[\"']{variable}[\"']", sources), f"{name} sets {variable}, which nothing reads"


def test_the_image_is_built_in_two_stages_runs_unprivileged_and_checks_its_models():
    stages = re.findall(r"^FROM (\S+)", DOCKERFILE, re.M)
    assert len(stages) == 2 and all(s.startswith("python:3.11-slim") for s in stages)
    assert "COPY --from=build /venv /venv" in DOCKERFILE
    assert "pip install -r requirements.txt" in DOCKERFILE and "--no-deps -r requirements-nodeps.txt" in DOCKERFILE
    assert "LocalEngine(preload=True, int8=True)" in DOCKERFILE, "the build fails if a model is missing"
    assert re.search(r"^ENV XDG_CACHE_HOME=/opt/", DOCKERFILE, re.M), "the int8 model is built where users can read"
    assert re.search(r"^USER facesite$", DOCKERFILE, re.M)
