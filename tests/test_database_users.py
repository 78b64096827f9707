"""The services' own database login (issue 11 item 10): the SCRAM verifier the Job sets
is what PostgreSQL checks, the Job's psql script really creates a least-privilege login
(run against a real PostgreSQL when one is installed), and a rotation leaves the
previous user working until the services rolled."""

from __future__ import annotations

import base64
import copy
import hashlib
import hmac
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from builders import external_secrets, workloads
from builders.database_users import APP_USER_SQL, app_user, scram_sha256_verifier, verifier_salt
from tests.test_workload_builders import ACME, tenant


def test_scram_verifier_matches_rfc7677() -> None:
    # RFC 7677 section 3: user "user", password "pencil", the server's salt and count,
    # and the client's proof for this exchange.
    salt = base64.b64decode("W22ZaJ0SNY7soEsUEjb6gQ==")
    verifier = scram_sha256_verifier("pencil", salt, 4096)
    head, keys = verifier.split("$", 1)[1].split("$")
    assert head == "4096:W22ZaJ0SNY7soEsUEjb6gQ=="
    stored_key, server_key = (base64.b64decode(k) for k in keys.split(":"))
    auth = (b"n=user,r=rOprNGfwEbeRWgbNEkqO,"
            b"r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096,"
            b"c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0")
    proof = base64.b64decode("dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=")
    client_key = bytes(a ^ b for a, b in zip(proof, hmac.new(stored_key, auth, hashlib.sha256).digest(), strict=True))
    assert hashlib.sha256(client_key).digest() == stored_key
    assert base64.b64encode(hmac.new(server_key, auth, hashlib.sha256).digest()) == (
        b"6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=")


@pytest.mark.parametrize(("version", "user"), [(1, "datafly_app_a"), (2, "datafly_app_b"), (3, "datafly_app_a")])
def test_users_alternate_with_the_credentials_version(version: int, user: str) -> None:
    assert app_user(version) == user


def test_services_read_the_app_login_and_only_the_job_the_master() -> None:
    config = tenant(copy.deepcopy(ACME))
    app = external_secrets.app_external_secret(
        config, app_secret_arn="app", redis_secret_arn="redis", database_app_secret_arn="db-app", templates={})
    db = [e for e in app["spec"]["data"] if e["secretKey"] in ("db_username", "db_password")]
    assert db == [{"secretKey": "db_username", "remoteRef": {"key": "db-app", "property": "username"}},
                  {"secretKey": "db_password", "remoteRef": {"key": "db-app", "property": "password"}}]
    job_secret = external_secrets.migrations_external_secret(
        config, name=workloads.migrations_secret_name(config), rds_master_secret_arn="master",
        database_app_secret_arn="db-app", templates={})
    assert job_secret["metadata"]["name"] == workloads.migrations_job_name(config) == "db-migrate-v1-2-0"
    assert {(e["secretKey"], e["remoteRef"]["key"], e["remoteRef"]["property"]) for e in job_secret["spec"]["data"]} == {
        ("admin_username", "master", "username"), ("admin_password", "master", "password"),
        ("app_username", "db-app", "username"), ("app_verifier", "db-app", "verifier"),
    }


def test_a_rotation_reruns_the_job_and_rolls_the_database_clients() -> None:
    data = copy.deepcopy(ACME)
    before = tenant(data)
    data.setdefault("postgres", {})["appCredentialsVersion"] = 2
    after = tenant(data)
    assert workloads.migrations_job_name(after) == "db-migrate-v1-2-0-c2" != workloads.migrations_job_name(before)

    def versions(config: Any) -> dict[str, Any]:
        return {d["metadata"]["name"]: (d["spec"]["template"]["metadata"].get("annotations") or {}).get(
            "datafly.io/database-credentials-version") for d in workloads.deployments(config, "acme.")}

    assert versions(before) == {"ingestion-gateway": "1", "event-processor": "1", "delivery-workers": "1",
                                "identity-hub": "1", "management-api": "1", "management-ui": None}
    assert set(versions(after).values()) == {"2", None}


def test_a_customer_managed_kubernetes_secret_keeps_its_own_database_url() -> None:
    data = copy.deepcopy(ACME)
    data["secrets"] = {"existing": {"kubernetesSecret": "acme-own"}}
    job = workloads.migrations_job(tenant(data))
    pod = job["spec"]["template"]["spec"]
    assert "initContainers" not in pod
    assert pod["containers"][0]["env"] == [
        {"name": "DATABASE_URL", "valueFrom": {"secretKeyRef": {"name": "acme-own", "key": "DATABASE_URL"}}}]


# ------------------------------------------------------------ a real PostgreSQL


def _binary(name: str) -> str | None:
    found = shutil.which(name)
    if found:
        return found
    for root in sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True):
        if (root / name).exists():
            return str(root / name)
    return None


@pytest.fixture(scope="module")
def postgres() -> Iterator[dict[str, str]]:
    """A throwaway server on a Unix socket; the master role is like RDS's: CREATEROLE,
    owner of the database, not a superuser."""
    initdb, pg_ctl, psql = _binary("initdb"), _binary("pg_ctl"), _binary("psql")
    if not (initdb and pg_ctl and psql):
        pytest.skip("no PostgreSQL server binaries installed")
    root = Path(tempfile.mkdtemp(prefix="datafly-pg-"))
    prefix: list[str] = []
    if os.geteuid() == 0:  # postgres refuses to run as root
        if not shutil.which("runuser"):
            pytest.skip("running as root without runuser")
        prefix = ["runuser", "-u", "nobody", "--"]
        shutil.chown(root, "nobody")
    (root / "pw").write_text("superpw\n")
    if prefix:
        shutil.chown(root / "pw", "nobody")
    data = root / "data"
    subprocess.run([*prefix, initdb, "-D", str(data), "-U", "postgres", "--auth=scram-sha-256",
                    f"--pwfile={root / 'pw'}"], check=True, capture_output=True)
    subprocess.run([*prefix, pg_ctl, "-D", str(data), "-w", "-o", f"-k {root} -c listen_addresses=''",
                    "-l", str(root / "log"), "start"], check=True, capture_output=True)
    env = {"PGHOST": str(root), "PATH": os.environ.get("PATH", "")}
    try:
        def admin(sql: str) -> None:
            subprocess.run([psql, "-U", "postgres", "-d", "postgres", "-qc", sql], check=True,
                           env={**env, "PGPASSWORD": "superpw"}, capture_output=True)

        admin("CREATE ROLE datafly_admin LOGIN CREATEROLE PASSWORD 'adminpw'")
        admin("CREATE DATABASE datafly OWNER datafly_admin")
        (root / "app-user.sql").write_text(APP_USER_SQL)
        os.chmod(root / "app-user.sql", 0o644)
        yield {**env, "psql": psql, "sql": str(root / "app-user.sql"), "log": str(root / "log")}
    finally:
        subprocess.run([*prefix, pg_ctl, "-D", str(data), "-m", "fast", "stop"], capture_output=True)
        shutil.rmtree(root, ignore_errors=True)


def _run_job(pg: dict[str, str], version: int, password: str) -> None:
    user = app_user(version)
    env = {"PGHOST": pg["PGHOST"], "PATH": pg["PATH"], "PGUSER": "datafly_admin", "PGPASSWORD": "adminpw",
           "PGDATABASE": "datafly", "APP_DATABASE_USER": user,
           "APP_DATABASE_PASSWORD_VERIFIER": scram_sha256_verifier(password, verifier_salt("acme", user, version))}
    subprocess.run([pg["psql"], "--no-psqlrc", "--file", pg["sql"]], env=env, check=True, capture_output=True)


def _as(pg: dict[str, str], user: str, password: str, sql: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([pg["psql"], "-U", user, "-d", "datafly", "-Atqc", sql], text=True, capture_output=True,
                          env={"PGHOST": pg["PGHOST"], "PATH": pg["PATH"], "PGPASSWORD": password})


def test_the_jobs_script_creates_a_least_privilege_login_and_rotates_without_downtime(
    postgres: dict[str, str],
) -> None:
    _run_job(postgres, 1, "firstPassw0rd")
    # The migrations (master user) create a table after the login exists: default
    # privileges cover it.
    created = _as(postgres, "datafly_admin", "adminpw", "CREATE TABLE events (id serial PRIMARY KEY, v text)")
    assert created.returncode == 0, created.stderr
    ok = _as(postgres, "datafly_app_a", "firstPassw0rd", "INSERT INTO events (v) VALUES ('x'); SELECT count(*) FROM events")
    assert (ok.returncode, ok.stdout.strip()) == (0, "1"), ok.stderr
    for sql in ("CREATE TABLE t (x int)", "DROP TABLE events", "CREATE ROLE evil", "CREATE DATABASE other"):
        denied = _as(postgres, "datafly_app_a", "firstPassw0rd", sql)
        assert denied.returncode != 0 and ("permission denied" in denied.stderr or "must be" in denied.stderr), sql
    assert _as(postgres, "datafly_app_b", "firstPassw0rd", "SELECT 1").returncode != 0

    # Rotation: version 2 gives datafly_app_b a new password; pods still on
    # datafly_app_a keep connecting until they are replaced. Re-running is harmless.
    _run_job(postgres, 2, "secondPassw0rd")
    _run_job(postgres, 2, "secondPassw0rd")
    assert _as(postgres, "datafly_app_b", "secondPassw0rd", "SELECT count(*) FROM events").stdout.strip() == "1"
    assert _as(postgres, "datafly_app_a", "firstPassw0rd", "SELECT count(*) FROM events").stdout.strip() == "1"
    # No password ever reached the server log (the Job sends only the verifier).
    log = Path(postgres["log"]).read_text()
    assert "firstPassw0rd" not in log and "secondPassw0rd" not in log
