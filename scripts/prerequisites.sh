#!/usr/bin/env bash
# What the test suite needs from the machine, beyond Node and the npm packages: run by `npm test`
# (its `pretest` step), so that the README's test command works on a fresh Debian machine.
#
# As root, missing Debian packages are installed with apt-get. Otherwise the script names exactly
# what to install and fails, since the kernel tests need root anyway.
#
# Each entry maps a command (or a file) to the Debian package that provides it:
# - build tools for native npm modules (the `zookeeper` client) and Galaxy's own container helper
#   (agent/containerizer/native/galaxy-init.c: a C compiler, libc and Linux headers);
# - what the kernel tests drive: util-linux (unshare, nsenter, setpriv), mount (losetup, mount),
#   iproute2 (ip, tc), nftables (nft: the tcp isolator publishes ports and NATs with it), e2fsprogs (mkfs.ext4), strace (which proves durable writes fsync);
#   systemd-analyze checks the shipped units;
# - openssl, with which the TLS tests make throwaway certificate authorities;
# - chromium, the browser the console's Playwright tests drive (Playwright's own download is not
#   reachable everywhere: test/e2e/console.test.ts points playwright-core at /usr/bin/chromium);
# - a real ZooKeeper (and Java) for the coordinator's backend tests and the HA tests, which start
#   their own servers from /usr/share/zookeeper (the system service stays off);
# - promtool (Debian's prometheus), which checks every daemon's /metrics in the metrics test (the
#   system service stays off).
set -euo pipefail

declare -A package_of=(
  [git]=git [python3]=python3 [make]=make [g++]=g++ [bash]=bash
  [cc]=gcc [/usr/include/stdio.h]=libc6-dev [/usr/include/linux/capability.h]=linux-libc-dev
  [unshare]=util-linux [nsenter]=util-linux [setpriv]=util-linux [losetup]=mount [mount]=mount
  [ip]=iproute2 [tc]=iproute2 [nft]=nftables [mkfs.ext4]=e2fsprogs [strace]=strace [java]=default-jre-headless
  [systemd-analyze]=systemd [openssl]=openssl [promtool]=prometheus [chromium]=chromium
  [/usr/share/java/zookeeper.jar]=zookeeper
)

have() {
  case "$1" in
    /*) [ -e "$1" ] ;;
    *) command -v "$1" >/dev/null || PATH="$PATH:/usr/sbin:/sbin" command -v "$1" >/dev/null ;;
  esac
}

need=()
for what in "${!package_of[@]}"; do
  have "$what" || need+=("${package_of[$what]}")
done
[ ${#need[@]} -eq 0 ] && exit 0
mapfile -t need < <(printf '%s\n' "${need[@]}" | sort -u)

if [ "$(id -u)" -ne 0 ]; then
  echo "galaxy: the test suite needs these Debian packages: ${need[*]}" >&2
  echo "galaxy: install them as root (apt-get install -y ${need[*]}), then run npm test as root" >&2
  exit 1
fi
if ! command -v apt-get >/dev/null; then
  echo "galaxy: the test suite needs the Debian packages ${need[*]}, and this machine has no apt-get; install their equivalents" >&2
  exit 1
fi

echo "galaxy: installing what the test suite needs: ${need[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq "${need[@]}" >/dev/null
# Debian starts the zookeeper service on install; the tests run their own servers on their own
# ports, so the packaged one is stopped where a service manager runs it.
if [[ " ${need[*]} " == *" zookeeper "* ]] && command -v systemctl >/dev/null; then
  systemctl disable --now zookeeper >/dev/null 2>&1 || true
fi
if [[ " ${need[*]} " == *" prometheus "* ]] && command -v systemctl >/dev/null; then
  systemctl disable --now prometheus >/dev/null 2>&1 || true
fi
echo "galaxy: installed ${need[*]}" >&2
