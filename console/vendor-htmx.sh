#!/usr/bin/env bash
# Re-vendors htmx for the web console from the npm registry: packs htmx.org@VERSION,
# copies its minified build to console/assets/vendor/ and records version, source and
# sha256 in VENDOR.txt. Run it to move to another version: `console/vendor-htmx.sh 2.0.11`.
set -euo pipefail
cd "$(dirname "$0")/.."
version="${1:-2.0.11}"
out=console/assets/vendor
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
(cd "$work" && npm pack --silent "htmx.org@${version}" >/dev/null)
tar -xzf "$work"/htmx.org-"${version}".tgz -C "$work"
cp "$work/package/dist/htmx.min.js" "$out/htmx.min.js"
tarball_sha="$(sha256sum "$work"/htmx.org-"${version}".tgz | cut -d' ' -f1)"
file_sha="$(sha256sum "$out/htmx.min.js" | cut -d' ' -f1)"
cat > "$out/VENDOR.txt" <<TXT
htmx.min.js
  package: htmx.org ${version} (npm registry, https://registry.npmjs.org/htmx.org/-/htmx.org-${version}.tgz)
  file:    package/dist/htmx.min.js
  sha256:  ${file_sha}
  tarball sha256: ${tarball_sha}
  licence: 0BSD
  re-vendor: console/vendor-htmx.sh ${version}
TXT
echo "vendored htmx ${version}: ${file_sha}"
