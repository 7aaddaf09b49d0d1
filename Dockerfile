# audtrail image: one image, one command per container (`migrate`, and the others as they land).
FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
# npm install, not npm ci: chdb lists optional per-platform engines that are not all published,
# which npm ci reports as a lockfile mismatch.
RUN npm install --no-audit --no-fund --ignore-scripts
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npx tsc -p tsconfig.build.json && npm prune --omit=dev
# The image runs the `audtrail` command: keep the server's packages (the ClickHouse engine and
# client, kafkajs, Fastify), which package.json lists as optional peer dependencies (collectors do
# not need them) and as development ones, so the prune above removed them. Lockfile versions.
RUN npm install --save-prod --omit=dev --no-audit --no-fund --ignore-scripts \
      $(node -p "Object.entries(require('./package.json').peerDependencies).map(([n, v]) => n + '@' + v).join(' ')")

FROM node:20-bookworm-slim
ENV NODE_ENV=production AUDTRAIL_HOST=0.0.0.0 AUDTRAIL_DATA_DIR=/data
WORKDIR /app
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY package.json ./
COPY bin ./bin
COPY sql ./sql
COPY schemas ./schemas
RUN mkdir -p /data && chown node:node /data
USER node
VOLUME ["/data"]
ENTRYPOINT ["node", "bin/audtrail.js"]
CMD ["--help"]
