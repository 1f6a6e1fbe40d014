# inferd as a service: the server alone (CPU torch, the PostgreSQL driver), run as a non-root user, its data on a
# volume, listening on every interface with security on. The install is scripts/setup.sh, the same script CI runs
# (tests/integration/test_install.py runs this file's RUN setup.sh line with the base profile and starts its
# ENTRYPOINT with its ENV):
#   docker build -t inferd .
#   inferd keys generate > admin.key     # or any way to make one: see README, "Run it as a service"
#   docker run -d -p 9200:9200 -v inferd-data:/data -v "$PWD/admin.key:/run/secrets/admin.key:ro" \
#       -e INFERD_BOOTSTRAP_API_KEY_FILE=/run/secrets/admin.key inferd
FROM python:3.11-slim-bookworm

ARG INFERD_PROFILE=server
WORKDIR /opt/inferd/src
COPY pyproject.toml README.md LICENSE ./
COPY requirements/ requirements/
COPY scripts/ scripts/
COPY src/ src/
RUN ./scripts/setup.sh --profile "$INFERD_PROFILE" --venv /opt/inferd/venv \
    && rm -rf build src/*.egg-info /root/.cache/pip

RUN useradd --system --uid 10001 --user-group --no-create-home --home-dir /data inferd \
    && mkdir /data && chown inferd:inferd /data
ENV PATH=/opt/inferd/venv/bin:$PATH \
    INFERD_HOST=0.0.0.0 \
    INFERD_PORT=9200 \
    INFERD_DATA_DIR=/data
VOLUME /data
USER inferd
WORKDIR /data
EXPOSE 9200
# Readiness, not liveness: ready once the store is open and every stored deployment serves again.
HEALTHCHECK --interval=15s --timeout=10s --start-period=120s --retries=3 CMD ["inferd", "ready"]
# SIGTERM drains: new connections are refused, admitted requests answered (within 30 s), then workers stop.
STOPSIGNAL SIGTERM
ENTRYPOINT ["inferd", "serve"]
