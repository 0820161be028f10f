#!/usr/bin/env bash
# Vendor the PWA's third-party browser code from the npm registry, at build time (issue 14):
# MQTT.js's ES-module bundle into pwa/vendor/mqtt/, checked against the sha256 pinned here.
# Nothing is fetched at run time (no CDN on the closed network). Idempotent: a stamp holding
# the pinned hash skips the download when the file is already there and unchanged.
# Usage: scripts/vendor_pwa.sh        (needs npm and the registry; see pwa/vendor/README.md)
set -euo pipefail
cd "$(dirname "$0")/.."

MQTT_VERSION=5.16.0
# sha256 of package/dist/mqtt.esm.js and package/LICENSE.md in mqtt-5.16.0.tgz (npm pack,
# 2026-12-02). A different file (a re-published tarball, a tampered mirror) stops the build.
MQTT_ESM_SHA256=6e009e77fc644cbf7b46ea37ba77fbdaf5780452389a57f2b4a676437c2defdd
MQTT_LICENSE_SHA256=81b51ef8ac2a8ac8f111ed34ab1a32d63e7f4f7de586bd65f5510fb1ba3a89eb
DEST=pwa/vendor/mqtt
STAMP="$DEST/.vendored-$MQTT_VERSION-${MQTT_ESM_SHA256:0:16}"

log() { printf '[vendor] %s\n' "$*" >&2; }

if [ -f "$STAMP" ] && [ -f "$DEST/mqtt.esm.js" ] \
   && echo "$MQTT_ESM_SHA256  $DEST/mqtt.esm.js" | sha256sum -c --status; then
  exit 0
fi
command -v npm >/dev/null || { log "npm is needed to vendor MQTT.js (apt-get install -y npm)"; exit 1; }
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
log "fetching mqtt@$MQTT_VERSION from the npm registry"
(cd "$work" && npm pack --silent "mqtt@$MQTT_VERSION" >/dev/null)
tar -xzf "$work/mqtt-$MQTT_VERSION.tgz" -C "$work" package/dist/mqtt.esm.js package/LICENSE.md
echo "$MQTT_ESM_SHA256  $work/package/dist/mqtt.esm.js" | sha256sum -c --status \
  || { log "mqtt.esm.js does not match the pinned sha256: refusing it"; exit 1; }
echo "$MQTT_LICENSE_SHA256  $work/package/LICENSE.md" | sha256sum -c --status \
  || { log "MQTT.js LICENSE.md does not match the pinned sha256: refusing it"; exit 1; }
mkdir -p "$DEST"
rm -f "$DEST"/.vendored-*
install -m 0644 "$work/package/dist/mqtt.esm.js" "$DEST/mqtt.esm.js"
install -m 0644 "$work/package/LICENSE.md" "$DEST/LICENSE.md"
touch "$STAMP"
log "vendored MQTT.js $MQTT_VERSION into $DEST"
