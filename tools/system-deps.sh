#!/bin/sh
# Installs the Debian packages the test suite needs (real servers and
# browsers, never fakes), listed in tools/debian-packages as
# "<command> <package>" lines. A command already on PATH is skipped. As root
# on Debian it runs apt-get; otherwise it stops with the command to run.
set -eu
cd "$(dirname "$0")"
missing=""
while read -r command package; do
    case "$command" in ''|'#'*) continue ;; esac
    command -v "$command" >/dev/null 2>&1 || [ -x "/usr/sbin/$command" ] || missing="$missing $package"
done < debian-packages
[ -z "$missing" ] && exit 0
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "Installing Debian packages:$missing"
    apt-get -o DPkg::Lock::Timeout=900 update -qq
    DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=900 install -y -qq --no-install-recommends $missing >/dev/null
else
    echo "The test suite needs these Debian packages. Run:" >&2
    echo "    sudo apt-get install -y$missing" >&2
    exit 1
fi
