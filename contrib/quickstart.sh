#!/usr/bin/env bash
# Fresh machine → running wharfd → the main job, in one command (run as root).
# Installs what is needed, builds release binaries, starts wharfd on /run/wharf/wharf.sock (log in
# /var/log/wharfd.log), then drives it with wharf and, if present, the stock docker CLI.
set -euo pipefail
cd "$(dirname "$0")/.."

export DEBIAN_FRONTEND=noninteractive
PACKAGES=(pkg-config iproute2 busybox-static libseccomp-dev tini nftables)
missing=()
for p in "${PACKAGES[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
if [ "${#missing[@]}" -gt 0 ]; then apt-get update -qq && apt-get install -y -qq "${missing[@]}"; fi
command -v cargo >/dev/null || { echo "quickstart: a Rust toolchain (cargo) is needed: https://rustup.rs" >&2; exit 1; }

cargo build --release --bins
install -m 0755 target/release/wharfd target/release/wharf target/release/wharf-shim target/release/wharf-proxy /usr/local/bin/

SOCK=/run/wharf/wharf.sock
if ! wharf -H "unix://$SOCK" version >/dev/null 2>&1; then
    nohup wharfd >>/var/log/wharfd.log 2>&1 &
    for _ in $(seq 100); do
        wharf -H "unix://$SOCK" version >/dev/null 2>&1 && break
        sleep 0.1
    done
fi
echo "wharfd is running (pid $(cat /run/wharf/wharfd.pid)); log: /var/log/wharfd.log"
wharf version
wharf info

# A busybox image from Debian's busybox-static (no registry needed).
if ! wharf image inspect busybox:latest >/dev/null 2>&1; then
    rootfs=$(mktemp -d)
    mkdir -p "$rootfs/bin" "$rootfs/etc" "$rootfs/tmp" "$rootfs/root"
    cp /bin/busybox "$rootfs/bin/busybox"
    for app in $("$rootfs/bin/busybox" --list); do [ "$app" = busybox ] || ln -sf busybox "$rootfs/bin/$app"; done
    tar -C "$rootfs" --numeric-owner --owner=0 --group=0 -c . |
        wharf import --change 'CMD ["/bin/sh"]' --change 'ENV PATH=/bin' -m "busybox-static from Debian" - busybox:latest
    rm -rf "$rootfs"
fi
wharf images
wharf run --rm busybox echo "hello from a wharf container"
if [ -x /usr/local/bin/docker ] || command -v docker >/dev/null; then
    echo; echo "The stock docker CLI talks to it too:"
    docker -H "unix://$SOCK" version --format 'docker → {{.Server.Platform.Name}} {{.Server.Version}} (API {{.Server.APIVersion}})'
fi
