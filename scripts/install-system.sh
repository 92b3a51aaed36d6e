#!/usr/bin/env bash
# Installs the system programs Conveyor runs when they are missing: git, bash, node/npm (the
# workflow schema and node actions), podman + runc (containers), busybox-static (the local
# base image), docker-registry (a real OCI registry on 127.0.0.1), kubectl (kustomize) and
# the PostgreSQL server (the store's second dialect: tests start a throwaway cluster with it),
# and tools only tests use: chromium, age and promtool.
# As root it uses apt; otherwise it names what is missing and stops (a missing PostgreSQL or
# test tool only warns: without it those tests skip, except under CI, where they fail).
set -euo pipefail
need=()
command -v git >/dev/null || need+=(git)
command -v bash >/dev/null || need+=(bash)
command -v node >/dev/null || need+=(nodejs)
command -v npm >/dev/null || need+=(npm)
command -v podman >/dev/null || need+=(podman)
command -v runc >/dev/null || need+=(runc)
[ -x /bin/busybox ] && ! ldd /bin/busybox >/dev/null 2>&1 || need+=(busybox-static)
command -v docker-registry >/dev/null || need+=(docker-registry)
# Local CI jobs run as an unprivileged user, who cannot enter root's pyenv: they start on the
# system's python3 of the same version (`conveyor.ci.jobuser.interpreter`).
[ -x /usr/bin/python3 ] || need+=(python3-minimal)
# Kustomize renders through `kubectl kustomize` (preinstalled on these machines); Debian's
# kubernetes-client is the fallback that carries one.
command -v kubectl >/dev/null || command -v kustomize >/dev/null || need+=(kubernetes-client)
# The web UI's browser tests drive Debian's Chromium with Playwright (its own browser
# download cannot work here); without it they skip, except under CI, where they fail.
tools=()
command -v chromium >/dev/null || tools+=(chromium)
# promtool (Debian's prometheus package) checks and unit-tests the shipped alert rules and
# the Grafana dashboard's queries (tests/observability): skipped without it, except under CI.
command -v promtool >/dev/null || tools+=(prometheus)
# The SOPS tests cross-check pyrage's age files with Debian's age (Conveyor itself uses pyrage).
command -v age >/dev/null && command -v age-keygen >/dev/null || tools+=(age)
# Debian puts the server programs (initdb, pg_ctl, postgres) under /usr/lib/postgresql/<major>/bin.
optional=()
compgen -G '/usr/lib/postgresql/*/bin/pg_ctl' >/dev/null || optional+=(postgresql)
optional+=("${tools[@]}")
[ ${#need[@]} -eq 0 ] && [ ${#optional[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null; then
  need+=("${optional[@]}")
  echo "installing system packages: ${need[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
elif [ ${#need[@]} -eq 0 ]; then
  echo "optional system packages missing: ${optional[*]} (the PostgreSQL store, browser," \
    "alert rule or age tests will skip; install them with: sudo apt-get install ${optional[*]})" >&2
else
  echo "missing system packages: ${need[*]} ${optional[*]} (install them, or run make as root)" >&2
  exit 1
fi
