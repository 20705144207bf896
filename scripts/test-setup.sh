#!/usr/bin/env bash
# What the tests need besides npm packages, from Debian's packages: PostgreSQL 15 (the
# suite's servers, pg_dump, pgbench), Chromium (the dashboard's browser tests), PgBouncer
# (clients behind a pooler) and iproute2 (network partitions in the cluster scenarios).
# Run by `npm test` before the suite: as root it installs what is missing; otherwise it
# says in one line what to install. PostgreSQL refuses to run as root, so as root it also
# makes sure the unprivileged postgres OS user the test servers run as exists.
set -euo pipefail
cd "$(dirname "$0")/.."

missing=()
[[ -x /usr/lib/postgresql/15/bin/postgres && -x /usr/lib/postgresql/15/bin/pg_dump ]] || missing+=(postgresql-15)
[[ -x /usr/bin/chromium ]] || missing+=(chromium)
[[ -x /usr/sbin/pgbouncer ]] || missing+=(pgbouncer)
command -v ip >/dev/null 2>&1 || missing+=(iproute2)
command -v openssl >/dev/null 2>&1 || missing+=(openssl)

if ((${#missing[@]} > 0)); then
  if [[ $(id -u) != 0 ]]; then
    echo "underway's tests need Debian's ${missing[*]}: install them (sudo apt-get install -y ${missing[*]}) or run npm test as root, which installs them" >&2
    exit 1
  fi
  echo "test set-up: installing ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  # The tests start their own throwaway servers; the package's default cluster is not needed.
  mkdir -p /etc/postgresql-common/createcluster.d
  echo "create_main_cluster = false" >/etc/postgresql-common/createcluster.d/underway-tests.conf
  apt-get update -q
  if [[ " ${missing[*]} " == *" postgresql-15 "* ]] && ! apt-cache show postgresql-15 >/dev/null 2>&1; then
    # Not in this release's archive (a newer Debian): the PostgreSQL project's repository has it.
    apt-get install -y -q postgresql-common
    /usr/share/postgresql-common/pgdg/apt.postgresql.org.sh -y
  fi
  apt-get install -y -q "${missing[@]}"
fi

if [[ $(id -u) == 0 ]] && ! id -u postgres >/dev/null 2>&1; then
  echo "test set-up: creating the postgres OS user the test servers run as" >&2
  useradd --system --user-group --home-dir /var/lib/postgresql --shell /bin/bash postgres
fi

if [[ ! -d node_modules ]]; then
  echo "test set-up: npm ci" >&2
  npm ci --no-audit --no-fund
fi
