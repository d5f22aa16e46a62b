# One image recipe for every app: docker build --build-arg APP=api-gateway -f infra/docker/app.Dockerfile .
# `turbo prune` cuts the workspace down to the app and the packages it uses, so each image installs only those.
# tests/images runs these steps without Docker (prune, frozen install, build, deploy) and starts the result.
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
# Every package's tsconfig extends this root file, and `turbo prune` carries only workspace packages.
# Copied here rather than wrapped in a config package: one line instead of a devDependency in every
# package.json; turbo.json lists it in globalDependencies, so editing it rebuilds everything.
COPY tsconfig.base.json ./
# The prune also holds test-only packages (fakes, provider-kit, local-stack: devDependencies of the
# app's packages), which turbo builds with them; `deploy --prod` leaves them and every devDependency out.
# The worker's build script also bundles its workflow code (dist/workflow-bundle.js).
# `deploy` with injected workspace packages installs from the lockfile (`--legacy` would resolve every
# version afresh from the registry); set for this command only, the workspace keeps its symlinks.
RUN pnpm exec turbo run build --filter=@autoflow/${APP} \
 && pnpm --filter=@autoflow/${APP} --config.inject-workspace-packages=true deploy --prod /app
# The worker's @temporalio/core-bridge ships its native library for five platforms: keep this one's (~110 MB).
RUN cd /app/node_modules/.pnpm && for bridge in @temporalio+core-bridge@*/node_modules/@temporalio/core-bridge; do \
      [ -d "$bridge" ] || continue; \
      keep="$(node -p "require('./$bridge/common.js').getPrebuiltTargetName()")"; \
      find "$bridge/releases" -mindepth 1 -maxdepth 1 ! -name "$keep" -exec rm -rf {} +; \
    done

FROM node:${NODE_VERSION}-bookworm-slim AS runtime
ENV NODE_ENV=production HOST=0.0.0.0
WORKDIR /app
COPY --from=build /app ./
USER node
# Node's flags are local-stack's APP_NODE_FLAGS (packages/local-stack/src/apps.ts says why).
CMD ["node", "--enable-source-maps", "--max-semi-space-size=32", "dist/server.js"]
