# One image recipe for every app: docker build --build-arg APP=api-gateway -f infra/docker/app.Dockerfile .
# `turbo prune` cuts the workspace down to the app and the packages it uses, so each image installs only those.
ARG NODE_VERSION=24

FROM node:${NODE_VERSION}-bookworm-slim AS base
RUN npm install -g pnpm@10 turbo@2
WORKDIR /repo

FROM base AS pruned
ARG APP
COPY . .
RUN turbo prune @autoflow/${APP} --docker

FROM base AS build
ARG APP
# Dependencies first (cached while only sources change), then the sources and the build.
COPY --from=pruned /repo/out/json/ ./
RUN pnpm install --frozen-lockfile
COPY --from=pruned /repo/out/full/ ./
RUN pnpm exec turbo run build --filter=@autoflow/${APP} \
 && pnpm --filter=@autoflow/${APP} deploy --prod --legacy /app

FROM node:${NODE_VERSION}-bookworm-slim AS runtime
ENV NODE_ENV=production HOST=0.0.0.0
WORKDIR /app
COPY --from=build /app ./
USER node
CMD ["node", "--enable-source-maps", "dist/server.js"]
