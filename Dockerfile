# krmfn as a KRM function image: reads a ResourceList on stdin, writes one on stdout.
#
# It runs the way kpt and kustomize run functions: `--user nobody --network none
# --security-opt=no-new-privileges`, and with a read-only root filesystem. Nothing is written
# at run time: the bytecode is compiled at build time, PYTHONDONTWRITEBYTECODE stops Python
# from trying again, and krmfn needs neither HOME nor /tmp.
#
# The build downloads nothing: the wheels are made on the host first, into dist/wheels/
# (the only thing .dockerignore lets into the context). They must match the image's Python
# and architecture (pydantic-core and PyYAML are compiled wheels):
#   pip wheel --no-deps --wheel-dir dist/wheels .
#   pip download --only-binary=:all: --dest dist/wheels dist/wheels/krmfn-*.whl
#   docker build --tag krmfn .
# scripts/container-check.sh does this for the base's own Python and builds from a local
# Debian base: --build-arg BASE=localhost/bookworm-py:base.
#
# BASE: any image with python3 >= 3.11 and its venv module (Debian: python3-venv). Both
# stages use it, so the venv's interpreter link stays valid in the runtime stage.
ARG BASE=python:3.11-slim-bookworm

FROM ${BASE} AS build
COPY dist/wheels/ /wheels/
RUN python3 -c 'import sys; assert sys.version_info >= (3, 11), "krmfn needs Python >= 3.11"' \
 && python3 -m venv /opt/krmfn \
 && /opt/krmfn/bin/python -m pip install --no-index --no-cache-dir --find-links=/wheels --only-binary=:all: /wheels/krmfn-*.whl \
 && /opt/krmfn/bin/python -m pip uninstall --yes --quiet pip setuptools \
 && /opt/krmfn/bin/python -m compileall -q -f --invalidation-mode unchecked-hash /opt/krmfn/lib \
 && /opt/krmfn/bin/krmfn --version

FROM ${BASE}
LABEL org.opencontainers.image.title="krmfn" \
      org.opencontainers.image.description="MultiDomain KRM function: many DNS domains from one Kubernetes cluster, kept in step" \
      org.opencontainers.image.licenses="Apache-2.0"
ENV PATH=/opt/krmfn/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PYTHONNOUSERSITE=1 \
    PYTHONSAFEPATH=1
COPY --from=build /opt/krmfn /opt/krmfn
WORKDIR /
# nobody:nogroup, numeric so that runAsNonRoot can verify it
USER 65534:65534
ENTRYPOINT ["/opt/krmfn/bin/krmfn"]
