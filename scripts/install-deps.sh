#!/usr/bin/env bash
# Installs the system packages the platform needs (Debian 12): PostgreSQL
# server binaries, ffmpeg/ffprobe, chromium for the browser tests and
# haproxy for the local cluster. Does nothing when they are present.
# Arguments name more packages whose command has the package's name (the
# benchmarks ask for wrk).
set -euo pipefail

missing=()
command -v ffmpeg >/dev/null 2>&1 && command -v ffprobe >/dev/null 2>&1 || missing+=(ffmpeg)
compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null || missing+=(postgresql)
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
# haproxy lives in /usr/sbin, which a non-root PATH may lack.
command -v haproxy >/dev/null 2>&1 || [ -x /usr/sbin/haproxy ] || missing+=(haproxy)
for extra in "$@"; do
  command -v "$extra" >/dev/null 2>&1 || missing+=("$extra")
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "installing system packages: ${missing[*]}"
sudo=""
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null 2>&1 || { echo "need root or sudo to install ${missing[*]}" >&2; exit 1; }
  sudo="sudo"
fi
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
# The postgresql package starts its own cluster on 5432 and haproxy its
# service on the stock config; the project runs private instances on other
# ports and leaves those alone.
echo "installed: ${missing[*]}"
