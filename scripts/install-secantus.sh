#!/usr/bin/env bash
# Installs the pinned SecantusDB server (secantusd-rs) used by the tests and by the
# local-database mode of `nachna-ingest`. The binary is cached outside the clone, so a
# second run (or a second clone on the same machine) costs nothing.
#
# SecantusDB is GPL-2.0-only and beta: it is only ever run as a separate process and is
# never linked into nachna-ingest.
set -euo pipefail

version="=0.5.3-beta.196"
cache_root="${NACHNA_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/nachna-ingest}"
install_root="$cache_root/secantus-0.5.3-beta.196"
binary="$install_root/bin/secantusd-rs"

if [[ -x "$binary" ]]; then
  echo "$binary"
  exit 0
fi

need_apt=()
command -v cmake >/dev/null 2>&1 || need_apt+=(cmake)
command -v cc >/dev/null 2>&1 || need_apt+=(gcc)
command -v c++ >/dev/null 2>&1 || need_apt+=(g++)
if ((${#need_apt[@]})); then
  if [[ $(id -u) -ne 0 ]]; then
    echo "install-secantus: need ${need_apt[*]}; install them (e.g. sudo apt-get install ${need_apt[*]}) and rerun" >&2
    exit 1
  fi
  echo "install-secantus: installing ${need_apt[*]} with apt-get" >&2
  DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_apt[@]}" >&2
fi

echo "install-secantus: building secantus-mdb $version into $install_root (about 4 minutes on 2 cores)" >&2
mkdir -p "$install_root"
# A separate target dir keeps this build out of the project's target/ and lets a
# failed build resume.
CARGO_TARGET_DIR="$cache_root/secantus-build" \
  cargo install secantus-mdb --version "$version" --locked --ignore-rust-version \
  --root "$install_root" >&2
[[ -x "$binary" ]] || { echo "install-secantus: build finished but $binary is missing" >&2; exit 1; }
echo "$binary"
