# CodeForge: one image for `codeforge serve` (the default command) and `codeforge worker`.
#
# Multi-stage: `build` makes a virtual environment in /opt/codeforge with CodeForge and
# the extras in EXTRAS; the final stage copies it onto the runtime packages (Python,
# git, tini) and runs as user 10001. It works with a read-only root filesystem: state
# goes to /var/lib/codeforge and scratch files to /tmp (mount both; docs/operations.md).
#
# No image is pulled where CodeForge is tested: BASE_IMAGE is a Debian bookworm root
# filesystem (scripts/docker-base-image makes one with debootstrap), and the packages
# come from Debian's mirror and the package index:
#   docker build --build-arg BASE_IMAGE=codeforge-base:bookworm -t codeforge:1.0 .
#   docker build --build-arg BASE_IMAGE=... --build-arg EXTRAS=api,redis,s3,ai -t codeforge:1.0-ai .
# Wheels can come from ./wheelhouse instead of the index:
#   pip download -d wheelhouse '.[api,redis,s3]' hatchling && docker build \
#     --build-arg PIP_NO_INDEX=1 --build-arg PIP_FIND_LINKS=/src/wheelhouse .
ARG BASE_IMAGE=debian:bookworm-slim

FROM ${BASE_IMAGE} AS runtime
ENV DEBIAN_FRONTEND=noninteractive \
    LANG=C.UTF-8
# The Debian release of BASE_IMAGE pins these packages' versions.
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends python3 git ca-certificates tini \
    && rm -rf /var/lib/apt/lists/*

FROM runtime AS build
ARG EXTRAS=api,redis,s3
ARG PIP_NO_INDEX=""
ARG PIP_FIND_LINKS=""
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends python3-venv \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
RUN python3 -m venv /opt/codeforge
COPY . .
# Then what the image does not run: pip and setuptools, and botocore's models of every
# AWS service but S3 and the credential ones (STS, SSO); about 55 MB.
RUN /opt/codeforge/bin/pip install --no-cache-dir ".[${EXTRAS}]" \
    && for data in /opt/codeforge/lib/python3*/site-packages/botocore/data; do \
         if [ -d "$data" ]; then \
           find "$data" -mindepth 1 -maxdepth 1 -type d ! -name s3 ! -name sts ! -name sso \
             ! -name sso-oidc -exec rm -rf {} +; \
         fi; \
       done \
    && /opt/codeforge/bin/pip uninstall -y -q pip setuptools \
    && /opt/codeforge/bin/python -m compileall -q /opt/codeforge/lib

FROM runtime
ARG VERSION=dev
ARG REVISION=unknown
LABEL org.opencontainers.image.title="CodeForge" \
      org.opencontainers.image.description="Blueprint-driven project generation: the API server and the job worker" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.licenses="MIT" \
      org.opencontainers.image.documentation="docs/operations.md"
ENV PATH=/opt/codeforge/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    HOME=/tmp \
    CODEFORGE_DATA_DIR=/var/lib/codeforge/data \
    CODEFORGE_CACHE_DIR=/var/lib/codeforge/cache \
    CODEFORGE_CONFIG_DIR=/var/lib/codeforge/config \
    CODEFORGE_HEALTHCHECK_URL=http://127.0.0.1:8000/healthz
RUN groupadd --gid 10001 codeforge \
    && useradd --no-create-home --no-log-init --uid 10001 --gid codeforge \
       --home-dir /var/lib/codeforge --shell /usr/sbin/nologin codeforge \
    && mkdir -p /var/lib/codeforge/data /var/lib/codeforge/cache /var/lib/codeforge/config \
    && chown -R codeforge:codeforge /var/lib/codeforge
COPY --from=build /opt/codeforge /opt/codeforge
VOLUME ["/var/lib/codeforge"]
WORKDIR /var/lib/codeforge
USER 10001:10001
EXPOSE 8000 8081 9100
# The API's /healthz on 8000; a worker sets CODEFORGE_HEALTHCHECK_URL to its own
# (codeforge worker --health-port 8081: http://127.0.0.1:8081/healthz).
HEALTHCHECK --interval=15s --timeout=5s --start-period=20s --retries=3 \
    CMD ["python3", "-c", "import os, urllib.request as u; u.urlopen(os.environ['CODEFORGE_HEALTHCHECK_URL'], timeout=4)"]
# tini reaps the git processes CodeForge starts and passes signals on (SIGTERM: a
# worker finishes its job, the server drains); arguments replace the command only.
ENTRYPOINT ["/usr/bin/tini", "--"]
CMD ["codeforge", "serve", "--host", "0.0.0.0", "--port", "8000"]
