#!/bin/sh
# Builds the peer ttyd 1.7.7 for `npm run bench` (which then finds it as TTYD=bench/peers/ttyd).
# Needs cmake, a C compiler and Debian's libwebsockets-dev, libjson-c-dev, libuv1-dev, zlib1g-dev and
# libssl-dev. Usage: bench/peers/build-ttyd.sh [SOURCE-DIR] (default: the 1.7.7 release from GitHub).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
if [ $# -ge 1 ]; then
  cp -R "$1" "$work/src"
else
  curl -fsSL https://github.com/tsl0922/ttyd/archive/refs/tags/1.7.7.tar.gz | tar -xz -C "$work"
  mv "$work/ttyd-1.7.7" "$work/src"
fi
cmake -S "$work/src" -B "$work/build" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$work/build" -j "$(nproc)" >/dev/null
cp "$work/build/ttyd" "$here/ttyd"
"$here/ttyd" --version
echo "built $here/ttyd: run TTYD=$here/ttyd npm run bench"
