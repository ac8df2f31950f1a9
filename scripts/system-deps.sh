#!/usr/bin/env bash
# Install the system packages Cairn needs when they are missing (Debian/Ubuntu).
# Each line: a command that must succeed, and the Debian packages that make it succeed.
set -euo pipefail

checks=(
  "python3 -m venv --help|python3-venv"
  "command -v bash|bash"
  "command -v make|make"
  # The test suite starts its own PostgreSQL server (initdb + pg_ctl) for the store.
  "ls /usr/lib/postgresql/*/bin/initdb /usr/lib/postgresql/*/bin/pg_ctl|postgresql"
  # The web page is built with npm (Node.js 20); its tests drive Debian's Chromium.
  "command -v npm|npm"
  "command -v chromium|chromium"
)

missing=()
for entry in "${checks[@]}"; do
  check=${entry%%|*}
  packages=${entry#*|}
  if ! eval "$check" >/dev/null 2>&1; then
    missing+=($packages)
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi
echo "installing system packages: ${missing[*]}"
if ! command -v apt-get >/dev/null 2>&1; then
  echo "error: missing ${missing[*]} and no apt-get to install them; install them by hand" >&2
  exit 1
fi
sudo=""
if [ "$(id -u)" -ne 0 ]; then
  sudo="sudo"
fi
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}"
