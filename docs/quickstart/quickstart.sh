#!/usr/bin/env bash
# The README's user quick start, run for real: `quickstart.sh DIR` copies the cluster-template
# example into DIR as a repository that has never seen krmfn (no MultiDomain yet), then runs
# each step and prints the transcript the README shows. tests/test_quickstart.py runs it and
# compares; KRMFN_UPDATE_EXPECTED=1 makes the test rewrite the README's block instead.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$1
cp -r "$here/../../examples/cluster-template/pkg" "$repo"
cd "$repo"
# the MultiDomain goes where the Kptfile's pipeline looks for it; the fixture's own is the answer
config=$(sed -n 's/^ *configPath: *//p' Kptfile)
rm -f "$config"
git init -q . && git add -A && git -c user.name=quickstart -c user.email=ops@example.com commit -qm before

run() {  # print the command as typed, then what it prints (kpt's timings dropped: they vary)
  printf '$ %s\n' "$*"
  bash -c "$*" 2>&1 | sed -E 's/ in [0-9.]+m?s$//' || true
  printf '\n'
}

run "krmfn init . > $config"
run "cat $config"
run "kpt fn render --allow-exec ."
run "git add -A && git diff --cached --stat"
git -c user.name=quickstart -c user.email=ops@example.com commit -qm adopted
run "sed -i 's/^    - name: \"\${SECRET_DOMAIN}\".*/&\n    - name: \${SECRET_DOMAIN_TWO}/' $config"
run "git diff -U0 $config | tail -n +5"
run "kpt fn render --allow-exec ."
run "git add -A && git diff --cached --stat"
run "krmfn check . && echo in step"
