#!/usr/bin/env bash
# The shell-pipe form: read a tree, run krmfn, write the result to a new directory.
#   usage: deploy/kpt/pipe.sh TREE CONFIG OUT   (kpt fn sink refuses an existing OUT)
# Without pipefail a failing krmfn would let `kpt fn sink` write the unchanged input and exit 0.
set -euo pipefail
kpt fn source "$1" --fn-config "$2" | krmfn | kpt fn sink "$3"
