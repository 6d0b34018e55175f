#!/bin/sh
# Builds forge-spawn, the local sandbox's process helper (see forge-spawn.c), with the machine's
# C compiler. Run by `npm ci` / `npm install`. It never fails the install: without a compiler
# Forge spawns through Node instead, slower, and `forge doctor` says so.
cd "$(dirname "$0")" || exit 0
CC="${CC:-cc}"
if ! command -v "$CC" >/dev/null 2>&1; then
  echo "forge: no C compiler ($CC): forge-spawn not built; Forge will spawn agents through Node (slower)" >&2
  exit 0
fi
mkdir -p build
if "$CC" -O2 -std=gnu11 -Wall -Wextra -o build/forge-spawn.tmp forge-spawn.c; then
  mv build/forge-spawn.tmp build/forge-spawn
else
  rm -f build/forge-spawn.tmp
  echo "forge: forge-spawn did not build; Forge will spawn agents through Node (slower)" >&2
fi
exit 0
