# The one-shot migration job: applies packages/db/migrations and exits.
ARG NODE_VERSION=24

FROM node:${NODE_VERSION}-bookworm-slim AS build
RUN npm install -g pnpm@10 turbo@2
WORKDIR /repo
COPY . .
RUN turbo prune @autoflow/db --docker && cd out/full && cp -r ../json/. . \
 && pnpm install --frozen-lockfile && pnpm exec turbo run build --filter=@autoflow/db \
 && pnpm --filter=@autoflow/db deploy --prod --legacy /app

FROM node:${NODE_VERSION}-bookworm-slim
WORKDIR /app
COPY --from=build /app ./
USER node
CMD ["node", "dist/migrate-cli.js"]
