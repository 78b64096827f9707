"""The services' own PostgreSQL login, instead of the RDS master user.

Why: RDS rotates a managed master password (every 7 days by default), and a pod reads
DATABASE_URL from an environment variable once, at start; a running pod never sees the
new value, and every new connection it opens after a rotation fails. So only the
migrations Job (DDL, short-lived, reading the master secret when it starts) uses the
master user; the services log in as a least-privilege user of their own:

- a NOLOGIN group role `datafly_app` holds the grants: CONNECT on the database, USAGE on
  schema `public`, SELECT/INSERT/UPDATE/DELETE on its tables and USAGE/SELECT/UPDATE on
  its sequences, plus default privileges for tables the migrations (the master user)
  create later. No DDL, no role creation, no other database.
- two login roles, `datafly_app_a` and `datafly_app_b`, members of it. Which one the
  services use alternates with `postgres.appCredentialsVersion`: a rotation gives the
  *other* user a fresh password, so pods still running on the previous user keep
  working (its password is untouched) until the rollout has replaced them.

The password is a pulumi-random value (kept encrypted in state, as every generated
secret here) stored in the customer's Secrets Manager secret; the Job receives only its
SCRAM-SHA-256 verifier, so no plaintext password ever appears in a SQL statement (RDS
logs slow statements to CloudWatch).
"""

from __future__ import annotations

import base64
import hashlib
import hmac

APP_GROUP_ROLE = "datafly_app"
APP_USERS = ("datafly_app_a", "datafly_app_b")
SCRAM_ITERATIONS = 4096  # PostgreSQL's scram_iterations default


def app_user(version: int) -> str:
    """The login the services use at credentials version `version` (alternating)."""
    return APP_USERS[(version - 1) % 2]


def scram_sha256_verifier(password: str, salt: bytes, iterations: int = SCRAM_ITERATIONS) -> str:
    """PostgreSQL's stored form of a SCRAM-SHA-256 password (RFC 5802/7677), which
    `ALTER ROLE ... PASSWORD '<verifier>'` stores as given (src/common/scram-common.c,
    `scram_build_secret`)."""
    salted = hashlib.pbkdf2_hmac("sha256", password.encode(), salt, iterations)
    client_key = hmac.new(salted, b"Client Key", hashlib.sha256).digest()
    stored_key = hashlib.sha256(client_key).digest()
    server_key = hmac.new(salted, b"Server Key", hashlib.sha256).digest()

    def b64(data: bytes) -> str:
        return base64.b64encode(data).decode()

    return f"SCRAM-SHA-256${iterations}:{b64(salt)}${b64(stored_key)}:{b64(server_key)}"


def verifier_salt(customer: str, user: str, version: int) -> bytes:
    """A stable salt, so the verifier (and the secret holding it) does not change on every
    update; unique per customer, user and version."""
    return hashlib.sha256(f"datafly:{customer}:{user}:{version}".encode()).digest()[:16]


# psql script run by the migrations Job's init container as the master user. psql
# variables come from the environment (`\getenv`, psql 15+) and are quoted by psql
# (`:'x'` literal, `:"x"` identifier), so no value is spliced into SQL by hand.
APP_USER_SQL = f"""\\set ON_ERROR_STOP on
\\getenv app_user APP_DATABASE_USER
\\getenv app_verifier APP_DATABASE_PASSWORD_VERIFIER
\\getenv database PGDATABASE
SELECT 'CREATE ROLE {APP_GROUP_ROLE} NOLOGIN'
  WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{APP_GROUP_ROLE}') \\gexec
SELECT format('CREATE ROLE %I LOGIN', name) FROM (VALUES {", ".join(f"('{u}')" for u in APP_USERS)}) AS u(name)
  WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = u.name) \\gexec
{"".join(f"GRANT {APP_GROUP_ROLE} TO {u};" + chr(10) for u in APP_USERS)}ALTER ROLE :"app_user" WITH LOGIN PASSWORD :'app_verifier';
GRANT CONNECT ON DATABASE :"database" TO {APP_GROUP_ROLE};
GRANT USAGE ON SCHEMA public TO {APP_GROUP_ROLE};
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {APP_GROUP_ROLE};
GRANT USAGE, SELECT, UPDATE ON ALL SEQUENCES IN SCHEMA public TO {APP_GROUP_ROLE};
ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO {APP_GROUP_ROLE};
ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT USAGE, SELECT, UPDATE ON SEQUENCES TO {APP_GROUP_ROLE};
"""
