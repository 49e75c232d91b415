# syntax=docker/dockerfile:1

# One image for the API, the Temporal worker and the migration job; the command picks the role, or
# an operator command (`merchant ...`, `secrets generate`; `help` lists them all). It runs the
# compiled JavaScript (npm run build); tsx and the other dev tools stay out of it.
# bookworm-slim rather than alpine: @temporalio/core-bridge ships a native module linked against glibc.

FROM node:20-bookworm-slim AS base
# ca-certificates: the worker's Rust core reads the system CA store, not Node's bundled one, and fails
# to connect (NativeCertsNotFound) when slim's empty store is all it finds. It also brings openssl,
# which `prisma generate` probes to pick its engine build.
# tini: runs as PID 1 so SIGTERM reaches node (for a graceful worker shutdown) and zombies are reaped.
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates tini \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /app

# The postinstall `prisma generate` needs only the schema and its runner; copying nothing else keeps
# the dependency layers cached until dependencies or the schema change.
# `npm install` rather than `npm ci`: the lockfile is written on a registry mirror that lacks some
# platform packages (@swc/core for macOS, Windows), which `npm ci` reports as out of sync. The
# versions it resolves are still the lockfile's.
FROM base AS build
COPY package.json package-lock.json tsconfig.json tsconfig.build.json ./
COPY prisma/schema.prisma ./prisma/schema.prisma
COPY src/cli/prisma-generate.mjs ./src/cli/prisma-generate.mjs
RUN --mount=type=cache,target=/root/.npm npm install --no-audit --no-fund
COPY src ./src
COPY workflows ./workflows
COPY activities ./activities
RUN npm run build

FROM base AS deps
COPY package.json package-lock.json ./
COPY prisma/schema.prisma ./prisma/schema.prisma
COPY src/cli/prisma-generate.mjs ./src/cli/prisma-generate.mjs
RUN --mount=type=cache,target=/root/.npm npm install --omit=dev --no-audit --no-fund

FROM base
ENV NODE_ENV=production
COPY --from=deps /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY package.json ./
COPY prisma ./prisma
# The files stay root-owned, so the running process cannot modify its own code.
USER node
EXPOSE 3000
ENTRYPOINT ["tini", "--", "node", "--enable-source-maps", "dist/src/main.js"]
CMD ["api"]
