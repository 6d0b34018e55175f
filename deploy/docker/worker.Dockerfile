# The image of `forge worker`: one attempt in one Kubernetes pod. It holds the agent CLIs and
# Forge's own code, and no credentials: the attempt's token and the model keys arrive as
# environment variables from Secrets when the pod starts.
#
#   docker build -f deploy/docker/worker.Dockerfile -t ghcr.io/forge-dev/forge-worker:0.1.0 .
#
# Versions are pinned to the ones Forge is tested with: the base image's Node to package.json's
# devDependency "node", the CLIs to its devDependencies (a test checks that they agree).
# forge-spawn, the process helper that starts the agent (native/forge-spawn.c), built with a
# compiler the final image does not carry.
FROM node:24.21.0-bookworm-slim AS spawn-helper
RUN apt-get update \
 && apt-get install -y --no-install-recommends gcc libc6-dev \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /build
COPY native ./native
RUN sh native/build.sh && test -x native/build/forge-spawn

FROM node:24.21.0-bookworm-slim

RUN apt-get update \
 && apt-get install -y --no-install-recommends git ca-certificates \
 && rm -rf /var/lib/apt/lists/*

RUN npm install --global @anthropic-ai/claude-code@2.1.330 @openai/codex@0.169.0 \
 && npm cache clean --force

WORKDIR /opt/forge
COPY package.json package-lock.json ./
RUN npm ci --omit=dev && npm cache clean --force
COPY bin ./bin
COPY src ./src
COPY --from=spawn-helper /build/native/build/forge-spawn ./native/build/forge-spawn
RUN chmod 0755 bin/forge.js && ln -s /opt/forge/bin/forge.js /usr/local/bin/forge

# The uid the Job's securityContext names (runAsUser 10001, fsGroup 10001). The code stays owned
# by root: the agent cannot change the worker that reports on it.
RUN groupadd --gid 10001 forge \
 && useradd --uid 10001 --gid 10001 --home-dir /forge/home --no-create-home --shell /usr/sbin/nologin forge
USER 10001:10001
ENV NODE_ENV=production HOME=/forge/home
WORKDIR /forge

ENTRYPOINT ["forge", "worker"]
