#!/usr/bin/env bash
# Builds Galaxy's native container helper (agent/containerizer/native/*.c) into
# dist/native/galaxy-init with the system's C compiler; `npm run build` runs it. A machine
# without a compiler or Linux headers still builds: the helper is left out, with a warning,
# and such an agent runs tasks as plain processes (`galaxy up`) or refuses --isolation, naming
# the Debian packages to install (gcc libc6-dev linux-libc-dev; scripts/prerequisites.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
src=(agent/containerizer/native/*.c)
out=dist/native/galaxy-init
mkdir -p dist/native
cc=${CC:-cc}
if ! command -v "$cc" >/dev/null 2>&1; then
  rm -f "$out"
  echo "galaxy: no C compiler ($cc): the container helper is not built; containers need it (apt-get install gcc libc6-dev linux-libc-dev)" >&2
  exit 0
fi
# Static (position-independent, so still randomized) when the C library allows it (Debian's
# libc6-dev has libc.a): each container's helper is a fork of the spawner, which clones the init,
# which vforks the task, and a static binary has fewer mappings to copy and tear down, and no
# dynamic loader to run (docs/security.md, "What a launch costs").
if "$cc" -O2 -static-pie -Wall -Wextra -Werror -o "$out.tmp" "${src[@]}" 2>/dev/null; then
  mv -f "$out.tmp" "$out"
  exit 0
fi
if ! "$cc" -O2 -Wall -Wextra -Werror -o "$out.tmp" "${src[@]}"; then
  rm -f "$out" "$out.tmp"
  echo "galaxy: the container helper did not compile: containers need it (apt-get install gcc libc6-dev linux-libc-dev)" >&2
  exit 0
fi
mv -f "$out.tmp" "$out"
