#!/usr/bin/env bash
# Installs the Debian tools the test suite drives for real. Idempotent: does nothing when
# every tool is present. Fails loudly (non-zero, naming the tool) when one cannot be had:
# tests never skip for a missing tool.
set -euo pipefail

# command -> Debian package that provides it (an absolute path where the command lives in
# an sbin directory that a non-root PATH may lack)
declare -A need=(
  [tcpdump]=tcpdump
  [tshark]=tshark
  # editcap (shifting captures in time) comes with tshark's wireshark-common
  [editcap]=wireshark-common
  [iperf3]=iperf3
  [tcpreplay]=tcpreplay
  [ip]=iproute2
  [tc]=iproute2
  [ping]=iputils-ping
  # the server the ClickHouse transport tests start as a plain child process
  [/usr/sbin/clickhouse-server]=clickhouse-server
  # the exporter tests: a real Prometheus scrapes /metrics; promtool checks the exposition
  [prometheus]=prometheus
  [promtool]=prometheus
  # the alert tests: the generated rules page through a real Alertmanager (a plain child process)
  [/usr/bin/prometheus-alertmanager]=prometheus-alertmanager
  [amtool]=prometheus-alertmanager
  # the sFlow tests: pmacctd's sfprobe plugin is the real exporter, sfacctd a reference
  # collector in bench:sflow (Debian installs both in /usr/sbin)
  [/usr/sbin/pmacctd]=pmacct
  [/usr/sbin/sfacctd]=pmacct
  # the browser tests (test/ui): Debian's Chromium, driven by playwright-core
  [/usr/bin/chromium]=chromium
)

missing_pkgs=()
for cmd in "${!need[@]}"; do
  command -v "$cmd" >/dev/null 2>&1 || missing_pkgs+=("${need[$cmd]}")
done

if [ ${#missing_pkgs[@]} -gt 0 ]; then
  pkgs=$(printf '%s\n' "${missing_pkgs[@]}" | sort -u | tr '\n' ' ')
  if [ "$(id -u)" -ne 0 ]; then
    echo "setup-tools: missing packages: $pkgs— run this script as root (or: sudo apt-get install $pkgs)" >&2
    exit 1
  fi
  echo "setup-tools: installing $pkgs" >&2
  export DEBIAN_FRONTEND=noninteractive
  # wireshark-common asks whether non-root users may capture; answer no, non-interactively
  echo "wireshark-common wireshark-common/install-setuid boolean false" | debconf-set-selections 2>/dev/null || true
  # Packages with a service (clickhouse-server) start it from postinst through
  # invoke-rc.d, and a start that fails (no init system in a container, a port taken on a
  # CI runner) fails the install. Tests run their own servers, so forbid service starts
  # during the install with a policy-rc.d (exit 101, see invoke-rc.d(8)) unless the
  # machine already has one; ours is removed again however the script exits.
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\n# setup-tools.sh: no service starts during this install\nexit 101\n' >/usr/sbin/policy-rc.d
    chmod 755 /usr/sbin/policy-rc.d
    trap 'rm -f /usr/sbin/policy-rc.d' EXIT
  fi
  apt-get update -qq
  # shellcheck disable=SC2086
  apt-get install -y -qq --no-install-recommends $pkgs >/dev/null
fi

for cmd in "${!need[@]}"; do
  if ! command -v "$cmd" >/dev/null 2>&1; then
    echo "setup-tools: '$cmd' (package ${need[$cmd]}) is still missing after install" >&2
    exit 1
  fi
done
