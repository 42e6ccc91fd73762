#!/bin/sh
# Runs once, when the PostgreSQL container initialises its data directory: the role the service
# runs as. It owns nothing; the service's migrations (as the owner, POSTGRES_USER) grant it
# exactly what it needs (src/db/roles.ts). The SQL goes through standard input: psql quotes
# :'runtime_password' there, not in a -c command.
set -eu
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" -v runtime_password="$RUNTIME_DB_PASSWORD" <<'SQL'
CREATE ROLE shizenha_app LOGIN PASSWORD :'runtime_password';
SQL
