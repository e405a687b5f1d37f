#!/usr/bin/env bash
# CI pre-render for Flux into one file: kustomize-controller runs no KRM functions, so build a
# kustomization that lists the MultiDomain under `transformers:` here, and commit the result or
# `flux push artifact` it. Placeholders like ${SECRET_DOMAIN} pass through untouched; Flux fills
# them in afterwards from postBuild.substituteFrom. (To render a whole repository in place: render.sh.)
#   usage: deploy/flux/prerender.sh KUSTOMIZATION_DIR OUTPUT_FILE
set -euo pipefail
kubectl kustomize --enable-alpha-plugins "$1" > "$2.tmp"
mv "$2.tmp" "$2"
