#!/usr/bin/env bash
# Makes sure the Dockerfile's base image (its NODE_IMAGE, node:24-bookworm-slim pinned by digest) is
# in local podman storage, and prints the reference to build from (--build-arg NODE_IMAGE=...).
#
# Where images can be pulled, this pulls the pinned image and prints it. Where they cannot (CI
# machines reach only the npm registry and the Debian mirror), it builds a stand-in with the same
# layout: a minimal Debian bookworm from debootstrap plus this machine's Node under /usr/local, as
# the official image has it. A stand-in cannot have the pinned digest, so it is tagged with the tag
# alone and that is what is printed. Runs once per machine: an image already present is kept.
#
# Usage: scripts/container-base-image.sh            (root; podman, and debootstrap for the stand-in)
# Env:   BASE_IMAGE     image to provide (default: the Dockerfile's NODE_IMAGE)
#        DEBIAN_MIRROR  mirror for debootstrap (default: the first one in this machine's apt sources)
set -euo pipefail
cd "$(dirname "$0")/.."

BASE_IMAGE="${BASE_IMAGE:-$(sed -n 's/^ARG NODE_IMAGE=//p' Dockerfile)}"
# The tag without the digest, e.g. docker.io/library/node:24.20.0-bookworm-slim.
STAND_IN_IMAGE="${BASE_IMAGE%@*}"
NODE_MAJOR=$(sed -E 's/.*:([0-9]+)[.-].*/\1/' <<<"$STAND_IN_IMAGE")

log() { printf '[base-image] %s\n' "$*" >&2; }

if podman image exists "$BASE_IMAGE"; then
  log "$BASE_IMAGE already present"
  echo "$BASE_IMAGE"
  exit 0
fi

if timeout 300 podman pull --quiet "$BASE_IMAGE" >/dev/null 2>&1; then
  log "pulled $BASE_IMAGE"
  echo "$BASE_IMAGE"
  exit 0
fi

if podman image exists "$STAND_IN_IMAGE"; then
  log "$BASE_IMAGE cannot be pulled here: using the stand-in $STAND_IN_IMAGE already present"
  echo "$STAND_IN_IMAGE"
  exit 0
fi

log "$BASE_IMAGE cannot be pulled here: building a stand-in $STAND_IN_IMAGE"

apt_mirror() {
  if [[ -n "${DEBIAN_MIRROR:-}" ]]; then
    echo "$DEBIAN_MIRROR"
    return
  fi
  local mirror
  # deb822 sources first (bookworm's default), then one-line sources.
  mirror=$(cat /etc/apt/sources.list.d/*.sources 2>/dev/null | awk '/^URIs:/ && $2 !~ /security/ {print $2; exit}') || true
  if [[ -z "$mirror" ]]; then
    mirror=$(cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null | awk '/^deb / && $2 ~ /debian\/?$/ {print $2; exit}') || true
  fi
  echo "${mirror:-http://deb.debian.org/debian}"
}

node_bin=$(readlink -f "$(command -v node)")
npm_dir=$(dirname "$(dirname "$(readlink -f "$(command -v npm)")")")
node_major=$("$node_bin" -p 'process.versions.node.split(".")[0]')
if [[ "$node_major" != "$NODE_MAJOR" ]]; then
  log "this machine has Node $node_major; the stand-in for $BASE_IMAGE needs Node $NODE_MAJOR"
  exit 1
fi

rootfs=$(mktemp -d /var/tmp/node-base-rootfs.XXXXXX)
trap 'rm -rf "$rootfs"' EXIT

mirror=$(apt_mirror)
log "debootstrap bookworm from $mirror"
debootstrap --variant=minbase bookworm "$rootfs" "$mirror" >/dev/null

# The official image's layout: node and npm under /usr/local, no apt lists.
install -D -m 0755 "$node_bin" "$rootfs/usr/local/bin/node"
mkdir -p "$rootfs/usr/local/lib/node_modules"
cp -a "$npm_dir" "$rootfs/usr/local/lib/node_modules/npm"
ln -s ../lib/node_modules/npm/bin/npm-cli.js "$rootfs/usr/local/bin/npm"
ln -s ../lib/node_modules/npm/bin/npx-cli.js "$rootfs/usr/local/bin/npx"
rm -rf "$rootfs"/var/lib/apt/lists/* "$rootfs"/var/cache/apt/archives/*.deb

changes=(--change 'CMD ["node"]')
# Builds on this machine go through its network: when Node here is told to trust extra CAs (a
# TLS-inspecting egress proxy), the stand-in trusts them too, or `npm ci` inside the build fails.
if [[ -n "${NODE_EXTRA_CA_CERTS:-}" && -f "$NODE_EXTRA_CA_CERTS" ]]; then
  install -D -m 0644 "$NODE_EXTRA_CA_CERTS" "$rootfs/usr/local/share/ca-certificates/build-host-ca.crt"
  changes+=(--change 'ENV NODE_EXTRA_CA_CERTS=/usr/local/share/ca-certificates/build-host-ca.crt')
fi

tar -C "$rootfs" -c . | podman import --quiet "${changes[@]}" --message "stand-in for $BASE_IMAGE (debootstrap + Node $("$node_bin" -v))" - "$STAND_IN_IMAGE" >/dev/null
log "imported stand-in $STAND_IN_IMAGE"
echo "$STAND_IN_IMAGE"
