# The one-shot migration job: applies packages/db/migrations and exits.
#   docker build -f infra/docker/migrate.Dockerfile .
# The same stages as app.Dockerfile (see its comments), for @autoflow/db and its migrate-cli.
ARG NODE_VERSION=24

FROM node:${NODE_VERSION}-bookworm-slim AS base
RUN npm install -g pnpm@10 turbo@2
WORKDIR /repo

FROM base AS pruned
COPY . .
RUN turbo prune @autoflow/db --docker

FROM base AS build
COPY --from=pruned /repo/out/json/ ./
RUN pnpm install --frozen-lockfile
COPY --from=pruned /repo/out/full/ ./
COPY tsconfig.base.json ./
# Deployed with its migrations folder (package.json "files").
RUN pnpm exec turbo run build --filter=@autoflow/db \
 && pnpm --filter=@autoflow/db --config.inject-workspace-packages=true deploy --prod /app

FROM node:${NODE_VERSION}-bookworm-slim AS runtime
ENV NODE_ENV=production
WORKDIR /app
COPY --from=build /app ./
USER node
CMD ["node", "dist/migrate-cli.js"]
