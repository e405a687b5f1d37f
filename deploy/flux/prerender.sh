#!/usr/bin/env bash
# CI pre-render for Flux: kustomize-controller runs no KRM functions, so render here and
# commit (or `flux push artifact`) the result. Placeholders like ${SECRET_DOMAIN} pass
# through untouched; Flux fills them in afterwards from postBuild.substituteFrom.
#   usage: deploy/flux/render.sh KUSTOMIZATION_DIR OUTPUT_FILE
set -euo pipefail
kubectl kustomize --enable-alpha-plugins "$1" > "$2.tmp"
mv "$2.tmp" "$2"
