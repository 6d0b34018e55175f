# The image of the orchestrator, `forge serve`. It runs no agents itself (with sandbox.kind
# kubernetes they run in worker pods), so it holds Forge, git (workspaces, mirrors, pushes) and
# CA certificates, and no agent CLIs.
#
#   docker build -f deploy/docker/forge.Dockerfile -t ghcr.io/forge-dev/forge:0.1.0 .
#
# The base image's Node is package.json's devDependency "node" (a test checks that they agree).

FROM node:24.21.0-bookworm-slim AS dependencies
WORKDIR /opt/forge
COPY package.json package-lock.json ./
RUN npm ci --omit=dev && npm cache clean --force

FROM node:24.21.0-bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends git ca-certificates \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /opt/forge
COPY --from=dependencies /opt/forge/node_modules ./node_modules
COPY package.json package-lock.json ./
COPY bin ./bin
COPY src ./src
RUN chmod 0755 bin/forge.js && ln -s /opt/forge/bin/forge.js /usr/local/bin/forge

# The uid the chart's securityContext names (runAsUser 10001); data lives in /data (a volume).
RUN groupadd --gid 10001 forge \
 && useradd --uid 10001 --gid 10001 --home-dir /tmp --no-create-home --shell /usr/sbin/nologin forge \
 && mkdir /data && chown 10001:10001 /data
USER 10001:10001
ENV NODE_ENV=production FORGE_DATA_DIR=/data
WORKDIR /data
EXPOSE 7700

ENTRYPOINT ["forge"]
CMD ["serve"]
