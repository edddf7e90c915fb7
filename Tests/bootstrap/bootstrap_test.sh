#!/usr/bin/env bash
# scripts/bootstrap on both kinds of Debian machine: one that already has /usr/sbin/policy-rc.d
# (Debian's container images ship one) and one that has none. Each time it must install what
# is missing, exit 0, and leave policy-rc.d as it found it. Issue #13: the first `make test` on
# a fresh container failed because the clean-up trap's `[ … ] && …` made the exit status 1.
#
# To reach the install path with everything else present, it asks bootstrap for one extra, tiny
# package (GNU hello) through BOOTSTRAP_EXTRA_PACKAGES, removed again before each case. Needs
# root, as `make test` does; run by .ci/run.
set -euo pipefail
cd "$(dirname "$0")/../.."
[ "$(id -u)" -eq 0 ] || { echo "bootstrap_test: needs root (as CI runs it)" >&2; exit 1; }

policy=/usr/sbin/policy-rc.d
saved=$(mktemp)
had_policy=0
if [ -e "$policy" ]; then cp -p "$policy" "$saved"; had_policy=1; fi
restore() {
  if [ "$had_policy" = 1 ]; then cp -p "$saved" "$policy"; else rm -f "$policy"; fi
  rm -f "$saved"
  apt-get remove -y -qq hello >/dev/null 2>&1 || true
}
trap restore EXIT

passed=0
failed=0
installed() { [ "$(dpkg-query -W -f='${Status}' "$1" 2>/dev/null)" = "install ok installed" ]; }
check() { # name, condition...
  local name=$1
  shift
  if "$@"; then passed=$((passed + 1)); echo "ok: $name"; else failed=$((failed + 1)); echo "FAIL: $name"; fi
}

for machine in with-policy-rc.d without-policy-rc.d; do
  apt-get remove -y -qq hello >/dev/null 2>&1 || true
  if [ "$machine" = with-policy-rc.d ]; then
    printf '#!/bin/sh\n# the image'"'"'s own\nexit 101\n' >"$policy"
    chmod 755 "$policy"
  else
    rm -f "$policy"
  fi
  before=$(cat "$policy" 2>/dev/null || echo "(none)")
  status=0
  BOOTSTRAP_EXTRA_PACKAGES=hello scripts/bootstrap run >"/tmp/bootstrap-$machine.log" 2>&1 || status=$?
  check "$machine: exit status 0 (was $status)" test "$status" -eq 0
  check "$machine: the missing package was installed" installed hello
  after=$(cat "$policy" 2>/dev/null || echo "(none)")
  check "$machine: policy-rc.d left as it was" test "$before" = "$after"
  [ "$status" -eq 0 ] || cat "/tmp/bootstrap-$machine.log"
done

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
