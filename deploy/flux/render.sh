#!/usr/bin/env bash
# CI render for Flux: kustomize-controller runs no KRM functions, so render the whole tree in
# place and commit it. Generated files land next to the MultiDomain and are listed in that
# directory's kustomization.yaml, so the Flux Kustomization that applies the directory applies
# them; ${SECRET_DOMAIN} stays as written for Flux's postBuild substitution.
#   usage: deploy/flux/render.sh [TREE] [CONFIG]
#   TREE defaults to kubernetes; CONFIG to the one multidomain.yaml below TREE.
# kpt refuses YAML files that are not resources (a gatus config, a helmfile): list them in
# TREE/.krmignore (gitignore syntax). kpt re-formats every file it reads (a leading `---`,
# blank lines between keys); commit that once on its own to keep later diffs small.
set -euo pipefail
tree=${1:-kubernetes}
config=${2:-}
if [ -z "$config" ]; then
  mapfile -t found < <(find "$tree" -name multidomain.yaml -not -path '*/.git/*')
  if [ "${#found[@]}" -ne 1 ]; then
    echo "render.sh: name the MultiDomain file: ${#found[@]} multidomain.yaml files under $tree" >&2
    exit 2
  fi
  config=${found[0]}
fi
kpt fn eval "$tree" --exec krmfn --fn-config "$config" --truncate-output=false
