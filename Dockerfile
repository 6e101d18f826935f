# CodeForge: one image for `codeforge serve` (the default command) and `codeforge worker`.
#
# Multi-stage: `build` makes a virtual environment in /opt/codeforge with CodeForge and
# the extras in EXTRAS; `slim` puts it on the runtime packages (Python, git, tini) and
# deletes what neither command uses (docs, locales, apt's lists and caches, Perl's
# modules, Python's test and GUI modules); the final stage is that tree flattened onto
# `scratch`, one layer, so nothing deleted still weighs. It runs as user 10001 and works
# with a read-only root filesystem: state goes to /var/lib/codeforge and scratch files
# to /tmp (mount both; docs/operations.md).
#
# No image is pulled where CodeForge is tested: BASE_IMAGE is a Debian bookworm root
# filesystem (scripts/docker-base-image makes one with debootstrap), and the packages
# come from Debian's mirror and the package index:
#   docker build --build-arg BASE_IMAGE=codeforge-base:bookworm -t codeforge:1.0 .
#   docker build --build-arg BASE_IMAGE=... --build-arg EXTRAS=api,redis,s3,ai -t codeforge:1.0-ai .
# Wheels can come from ./wheelhouse instead of the index (an engine without a bridge
# builds with --network host):
#   pip download -d wheelhouse '.[api,redis,s3]' hatchling && docker build \
#     --build-arg PIP_NO_INDEX=1 --build-arg PIP_FIND_LINKS=/src/wheelhouse .
ARG BASE_IMAGE=debian:bookworm-slim

FROM ${BASE_IMAGE} AS runtime
ENV DEBIAN_FRONTEND=noninteractive \
    LANG=C.UTF-8
# The Debian release of BASE_IMAGE pins these packages' versions.
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends python3 git ca-certificates tini libpq5 \
    && rm -rf /var/lib/apt/lists/*

FROM runtime AS build
ARG EXTRAS=api,redis,s3
ARG PIP_NO_INDEX=""
ARG PIP_FIND_LINKS=""
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends python3-venv binutils \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
RUN python3 -m venv /opt/codeforge
COPY . .
# Then what the image does not run: pip and setuptools, botocore's models of every AWS
# service but S3 and the credential ones (STS, SSO; about 55 MB), the packages' test
# suites and type stubs, SQLAlchemy's dialects of MySQL, SQL Server and Oracle, the
# extension modules' symbols (about 30 MB), and psycopg's binary build with its own copies
# of OpenSSL and libpq (10 MB: psycopg uses Debian's libpq5 instead). The packages
# other than CodeForge keep only their bytecode (about 40 MB: their tracebacks show
# file and line, not the source text); CodeForge keeps its sources (alembic reads the
# migrations) and the blueprints' templates are not compiled (they are not Python).
RUN /opt/codeforge/bin/pip install --no-cache-dir --no-compile ".[${EXTRAS}]" \
    && /opt/codeforge/bin/pip uninstall -y -q psycopg-binary pip setuptools \
    && site=$(/opt/codeforge/bin/python -c 'import sysconfig; print(sysconfig.get_path("purelib"))') \
    && find "$site/botocore/data" -mindepth 1 -maxdepth 1 -type d ! -name s3 ! -name sts \
         ! -name sso ! -name sso-oidc -exec rm -rf {} + \
    && find "$site" -depth -type d \( -name tests -o -name __pycache__ \) \
         ! -path "$site/codeforge/*" -exec rm -rf {} + \
    && rm -rf "$site/sqlalchemy/dialects/mysql" "$site/sqlalchemy/dialects/mssql" \
         "$site/sqlalchemy/dialects/oracle" \
    && find "$site" -name '*.pyi' -delete \
    && find "$site" -name '*.so' ! -path '*.libs/*' -exec strip --strip-unneeded {} + \
    && /opt/codeforge/bin/python -m compileall -q -b -j 0 -x "^$site/codeforge/" "$site" \
    && find "$site" -name '*.py' ! -path "$site/codeforge/*" -delete \
    && /opt/codeforge/bin/python -m compileall -q -j 0 -x '/templates/' "$site/codeforge"

FROM runtime AS slim
COPY --from=build /opt/codeforge /opt/codeforge
# Deleted: docs, man pages, locales, apt's lists and caches, Perl's modules (git's
# porcelain scripts in Perl are not used), git's servers (daemon, shell, http-backend,
# imap-send, http-push, http-fetch, scalar, gitweb), Python's GUI, test and 2to3 modules and the
# standard library's sources (its bytecode stays, next to where the sources were).
# What stays: dpkg's database (apt works in an image built FROM this one).
RUN groupadd --gid 10001 codeforge \
    && useradd --no-create-home --no-log-init --uid 10001 --gid codeforge \
       --home-dir /var/lib/codeforge --shell /usr/sbin/nologin codeforge \
    && mkdir -p /var/lib/codeforge/data /var/lib/codeforge/cache /var/lib/codeforge/config \
    && chown -R codeforge:codeforge /var/lib/codeforge \
    && rm -rf /usr/share/doc/* /usr/share/man/* /usr/share/info/* /usr/share/locale/* \
       /usr/share/lintian /usr/share/python-wheels /usr/share/bash-completion /usr/share/gitweb \
       /var/lib/apt/lists/* /var/cache/apt/* /var/cache/debconf/*-old /var/log/* \
       /usr/share/perl /usr/lib/x86_64-linux-gnu/perl /usr/lib/x86_64-linux-gnu/libperl.so* \
       /usr/lib/x86_64-linux-gnu/gconv /usr/lib/git-core/git-daemon /usr/lib/git-core/git-shell \
       /usr/lib/git-core/git-http-backend /usr/lib/git-core/git-imap-send \
       /usr/lib/git-core/git-http-push /usr/lib/git-core/git-http-fetch /usr/lib/git-core/scalar /usr/bin/scalar /usr/bin/git-shell \
       /usr/lib/python3.11/ensurepip /usr/lib/python3.11/lib2to3 /usr/lib/python3.11/idlelib \
       /usr/lib/python3.11/pydoc_data /usr/lib/python3.11/tkinter /usr/lib/python3.11/turtledemo \
       /usr/lib/python3.11/test /usr/lib/python3.11/venv \
    && find /usr/lib/python3.11 -depth -type d -name __pycache__ -exec rm -rf {} + \
    && python3 -m compileall -q -b -j 0 /usr/lib/python3.11 \
    && find /usr/lib/python3.11 -name '*.py' -delete

FROM scratch
# the whole tree of `slim`, on purpose: one layer, without what was deleted
# hadolint ignore=DL3067
COPY --from=slim / /
ARG VERSION=dev
ARG REVISION=unknown
LABEL org.opencontainers.image.title="CodeForge" \
      org.opencontainers.image.description="Blueprint-driven project generation: the API server and the job worker" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.licenses="MIT" \
      org.opencontainers.image.documentation="docs/operations.md"
ENV PATH=/opt/codeforge/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    LANG=C.UTF-8 \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    HOME=/tmp \
    CODEFORGE_DATA_DIR=/var/lib/codeforge/data \
    CODEFORGE_CACHE_DIR=/var/lib/codeforge/cache \
    CODEFORGE_CONFIG_DIR=/var/lib/codeforge/config \
    CODEFORGE_HEALTHCHECK_URL=http://127.0.0.1:8000/healthz
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
