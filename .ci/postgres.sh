#!/usr/bin/env bash
# Installs and starts a local PostgreSQL on 127.0.0.1:5432 with a `leakagent` user and database.
set -euo pipefail
# The client (psql) may be on the machine without the server: look for the server binary itself.
if ! ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1 || ! command -v pg_ctlcluster >/dev/null 2>&1; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq postgresql >/dev/null
fi
version=$(ls -d /usr/lib/postgresql/*/bin/postgres | sed 's#/usr/lib/postgresql/\([^/]*\)/.*#\1#' | sort -V | tail -1)
if ! pg_lsclusters -h 2>/dev/null | grep -q "^$version main"; then
  pg_createcluster "$version" main >/dev/null
fi
pg_ctlcluster "$version" main start 2>/dev/null || true
for _ in $(seq 1 30); do
  if su postgres -c "psql -qAtc 'select 1'" >/dev/null 2>&1; then break; fi
  sleep 1
done
su postgres -c "psql -qAtc \"select 1 from pg_roles where rolname='leakagent'\"" | grep -q 1 ||
  su postgres -c "psql -qc \"create role leakagent login password 'leakagent'\""
su postgres -c "psql -qAtc \"select 1 from pg_database where datname='leakagent'\"" | grep -q 1 ||
  su postgres -c "psql -qc 'create database leakagent owner leakagent'"
echo "postgres $version ready on 127.0.0.1:5432"
