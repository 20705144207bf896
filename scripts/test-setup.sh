#!/usr/bin/env bash
# What the tests need besides npm packages, from Debian's packages: PostgreSQL 15 (the
# suite's servers, pg_dump, pgbench), Chromium (the dashboard's browser tests), PgBouncer
# (clients behind a pooler), iproute2 (network partitions in the cluster scenarios) and
# OpenSSL (the throwaway CA and certificates of the TLS tests), and Patroni, etcd and
# HAProxy (the Patroni cluster scenarios: src/harness/patroni.ts).
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
[[ -x /usr/bin/patroni ]] || missing+=(patroni)
[[ -x /usr/bin/etcd ]] || missing+=(etcd-server)
[[ -x /usr/sbin/haproxy ]] || missing+=(haproxy)

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
  # etcd-server and haproxy start a system service on installation (etcd on port 2379).
  # The scenarios start their own on free ports; keep the packages' services from starting,
  # through Debian's policy-rc.d, unless the machine already has a policy of its own.
  own_policy=
  if [[ ! -e /usr/sbin/policy-rc.d ]]; then
    own_policy=1
    printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
    chmod +x /usr/sbin/policy-rc.d
  fi
  status=0
  apt-get install -y -q "${missing[@]}" || status=$?
  [[ -n $own_policy ]] && rm -f /usr/sbin/policy-rc.d
  ((status == 0)) || exit "$status"
  # Nor at the next boot, where systemd runs.
  if [[ -d /run/systemd/system ]]; then
    for unit in etcd haproxy patroni; do
      [[ " ${missing[*]} " == *" ${unit/etcd/etcd-server} "* ]] && systemctl disable --now "$unit" >/dev/null 2>&1 || true
    done
  fi
fi

if [[ $(id -u) == 0 ]] && ! id -u postgres >/dev/null 2>&1; then
  echo "test set-up: creating the postgres OS user the test servers run as" >&2
  useradd --system --user-group --home-dir /var/lib/postgresql --shell /bin/bash postgres
fi

if [[ ! -d node_modules ]]; then
  echo "test set-up: npm ci" >&2
  npm ci --no-audit --no-fund
fi
