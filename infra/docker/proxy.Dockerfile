# The one public origin of compose: Caddy on infra/caddy/Caddyfile, with the console (apps/console) built
# into it at /srv/console (the Caddyfile's CONSOLE_ROOT default). docker build -f infra/docker/proxy.Dockerfile .
# tests/images runs these steps without Docker and serves the result with this machine's Caddy.
ARG NODE_VERSION=24
# The same Caddy the bootstrap builds for the dev stack (docker-compose.yml passes it; its test checks).
ARG CADDY_VERSION=2.10.2

FROM node:${NODE_VERSION}-bookworm-slim AS base
RUN npm install -g pnpm@10 turbo@2
WORKDIR /repo

FROM base AS pruned
COPY . .
RUN turbo prune @autoflow/console --docker

FROM base AS build
COPY --from=pruned /repo/out/json/ ./
RUN pnpm install --frozen-lockfile
COPY --from=pruned /repo/out/full/ ./
COPY tsconfig.base.json ./
# A static bundle: nothing from the environment is compiled in (apps/console/test/bundle.test.ts).
RUN pnpm exec turbo run build --filter=@autoflow/console

FROM caddy:${CADDY_VERSION} AS runtime
COPY infra/caddy/Caddyfile /etc/caddy/Caddyfile
COPY --from=build /repo/apps/console/dist/ /srv/console/
