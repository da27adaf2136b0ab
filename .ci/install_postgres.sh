#!/usr/bin/env bash
# Install Debian's PostgreSQL server for cryptofactor_assets_tests/ops/test_ops_postgres.py (idempotent:
# does nothing when the server binaries are already there). The test starts its own throw-away server
# (initdb in a temporary folder, free localhost port); this script never starts or configures one.
set -euo pipefail
have_server() {
  command -v pg_ctl >/dev/null 2>&1 && command -v initdb >/dev/null 2>&1 && return 0
  compgen -G "/usr/lib/postgresql/*/bin/pg_ctl" >/dev/null && compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null
}
if have_server; then
  echo "postgresql server binaries present"
  exit 0
fi
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
# postgresql pulls postgresql-<major> (initdb, pg_ctl, postgres under /usr/lib/postgresql/<major>/bin)
# and creates the unprivileged `postgres` user the test runs the server as when CI runs as root.
$SUDO apt-get install -y -qq --no-install-recommends postgresql
# the package's default cluster is not needed by the tests; leave it as the package configured it
have_server && echo "postgresql server binaries installed"
