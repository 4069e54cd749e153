#!/usr/bin/env bash
# bench/run.sh [scenario...]: builds wharfd, wharf-shim (wharfd runs the one beside it) and
# wharf-bench in release mode, then runs the side-by-side benchmarks on wharf and, where
# installed, Docker and Podman, in one run.
# Needs root (private namespaces, daemons). Scenarios and knobs: bench/README.md, or
# `bench/run.sh --help`. SKIP_BUILD=1 runs the binaries already built.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "$(id -u)" != 0 ]; then
    echo "bench/run.sh: needs root (private network/mount namespaces, starts daemons)" >&2
    exit 1
fi
TARGET=${CARGO_TARGET_DIR:-target}
case $TARGET in /*) ;; *) TARGET=$PWD/$TARGET ;; esac
if [ "${SKIP_BUILD:-0}" != 1 ]; then
    cargo build --release -p wharfd -p wharf-shim -p wharf-proxy -p wharf-bench
fi
export WHARFD_BIN=${WHARFD_BIN:-$TARGET/release/wharfd}
exec "$TARGET/release/wharf-bench" "$@"
