# o365-message-trace container image.
#   docker build -t o365-message-trace .
#   docker run --read-only -v o365mt-state:/var/lib/o365-message-trace \
#     -v "$PWD/config.yaml:/etc/o365-message-trace/config.yaml:ro" -e O365_CLIENT_SECRET o365-message-trace
# The install steps are scripts/production-install.sh, the same script test/production-install.test.ts runs
# (as the USER below, with the install read-only, as pid 1), so the image cannot drift from what CI tests.
ARG NODE_IMAGE=node:20-bookworm-slim

# Stage 1: compile with the dev dependencies (TypeScript) and pack the npm package.
FROM ${NODE_IMAGE} AS build
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json README.md ./
COPY bin bin
COPY conf conf
COPY examples examples
COPY scripts scripts
COPY src src
RUN npm run build && sh scripts/production-install.sh pack /src /tmp/pkg

# Stage 2: the package with production dependencies only; no sources, no npm cache. The state lock's fs-ext
# (flock) is a native addon built by node-gyp at install: the compiler is installed and purged in the same
# layer, so the image keeps no compiler.
FROM ${NODE_IMAGE}
COPY --from=build /tmp/pkg/o365-message-trace.tgz /tmp/o365-message-trace.tgz
COPY scripts/production-install.sh /tmp/production-install.sh
RUN apt-get update && apt-get install -y --no-install-recommends python3 make g++ \
 && sh /tmp/production-install.sh install /tmp/o365-message-trace.tgz /usr/local \
 && apt-get purge -y python3 make g++ && apt-get autoremove -y && rm -rf /var/lib/apt/lists/* \
 && rm -rf /tmp/o365-message-trace.tgz /tmp/production-install.sh /root/.npm \
 && mkdir -p /var/lib/o365-message-trace /etc/o365-message-trace \
 && chown 10001:10001 /var/lib/o365-message-trace
# An unprivileged user of its own (no name needed); the state directory is the only place it writes.
USER 10001:10001
ENV NODE_ENV=production \
    O365_STATE_DIR=/var/lib/o365-message-trace \
    O365_LOG_FORMAT=json
VOLUME ["/var/lib/o365-message-trace"]
# Probes /healthz when O365_METRICS_LISTEN (or metrics.listen mirrored into it) is set; passes otherwise.
HEALTHCHECK --interval=60s --timeout=5s --start-period=120s --retries=3 \
  CMD ["node", "/usr/local/lib/node_modules/o365-message-trace/bin/healthcheck.js"]
# The collector handles SIGTERM/SIGINT itself, so it runs as pid 1 without an init shim.
ENTRYPOINT ["/usr/local/bin/o365-message-trace"]
CMD ["run", "--config", "/etc/o365-message-trace/config.yaml"]
