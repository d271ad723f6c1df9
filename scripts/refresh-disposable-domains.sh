#!/usr/bin/env bash
# Replaces emailcheck/disposable_domains.txt with the newest disposable-
# domain list from its source, recording the commit it came from. Run it
# from the repository root on a machine that reaches GitHub, then run the
# emailcheck tests and commit the file:
#
#   scripts/refresh-disposable-domains.sh && go test ./emailcheck/
set -euo pipefail

repo=disposable-email-domains/disposable-email-domains
file=disposable_email_blocklist.conf
out=emailcheck/disposable_domains.txt

# The commit of the list's main branch, so the header names an exact version.
meta=$(curl -fsSL "https://api.github.com/repos/$repo/commits/main")
sha=$(printf '%s' "$meta" | grep -m1 -o '"sha": *"[0-9a-f]\{40\}"' | grep -o '[0-9a-f]\{40\}')
date=$(printf '%s' "$meta" | grep -m1 -o '"date": *"[0-9-]\{10\}' | grep -o '[0-9-]\{10\}')
[ -n "$sha" ] && [ -n "$date" ] || { echo "no commit found for $repo" >&2; exit 1; }

tmp=$(mktemp)
trap 'rm -f "$tmp"' EXIT
curl -fsSL "https://raw.githubusercontent.com/$repo/$sha/$file" -o "$tmp"
# A list cut short or replaced by an error page must not reach the build.
count=$(grep -c '^[a-z0-9.-]\+\.[a-z0-9-]\+$' "$tmp" || true)
if [ "$count" -lt 5000 ] || grep -qv '^[a-z0-9.-]*$' "$tmp"; then
  echo "downloaded list looks wrong ($count domains); $out left as it was" >&2
  exit 1
fi
{
  echo "# Disposable email domains, one per line, lower case. Do not edit by hand:"
  echo "# scripts/refresh-disposable-domains.sh replaces this file."
  echo "# source: https://github.com/$repo ($file, CC0-1.0)"
  echo "# version: commit $sha ($date)"
  cat "$tmp"
} > "$out"
echo "$out: $count domains from $repo at $sha ($date)"
