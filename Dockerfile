# syntax=docker/dockerfile:1
# MagicVideo images (docs/deploy.md). One image holds the API and the four stage workers; the
# command picks the process. Two final targets:
#   cpu (the default, last stage): node:24 slim, onnxruntime-node's bundled CPU provider.
#       docker build -t magicvideo:cpu .
#   gpu: the NVIDIA CUDA 12 runtime with cuDNN 9, onnxruntime-node's CUDA provider libraries,
#       ORT_EXECUTION_PROVIDER=cuda.
#       docker build --target gpu -t magicvideo:gpu .
# Both run as the non-root user magicvideo (uid 10001) and carry the shipped tiny model folder
# at /app/models/magicvideo-shapes (MODELS_DIR's default); mount another folder and point
# MODELS_DIR at it for a bigger model set, or add it as a layer (docs/deploy.md).

ARG NODE_IMAGE=node:24-bookworm-slim
ARG CUDA_IMAGE=nvidia/cuda:12.8.1-cudnn-runtime-ubuntu24.04

# --- build: bundle each app (tools/build-app.mjs: workspace libs inlined, npm packages external)
FROM ${NODE_IMAGE} AS build
WORKDIR /src
COPY package.json package-lock.json .npmrc ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.base.json ./
COPY tools/build-app.mjs tools/
COPY libs/shared/src libs/shared/src
COPY libs/diffusion/src libs/diffusion/src
COPY apps apps
RUN for app in api worker-keyframe worker-interp worker-decode worker-sr; do node tools/build-app.mjs "apps/$app"; done
# the web playground the API serves at / (dist/apps/playground)
RUN npx vite build --config apps/playground/vite.config.ts

# --- production dependencies, CPU: .npmrc skips onnxruntime-node's CUDA download
FROM ${NODE_IMAGE} AS deps-cpu
WORKDIR /app
COPY package.json package-lock.json .npmrc ./
# ffmpeg-installer's postinstall makes ffmpeg executable by its owner (root) only: open it to the
# runtime user. onnxruntime-node ships macOS and Windows binaries too (220 MB): not needed here.
RUN npm ci --omit=dev --no-audit --no-fund \
  && chmod a+rx node_modules/@ffmpeg-installer/linux-x64/ffmpeg \
  && rm -rf node_modules/onnxruntime-node/bin/napi-v6/darwin node_modules/onnxruntime-node/bin/napi-v6/win32 \
  && npm cache clean --force

# --- production dependencies, GPU: the same, plus the CUDA 12 execution provider's libraries
FROM deps-cpu AS deps-gpu
RUN node node_modules/onnxruntime-node/script/install.js --onnxruntime-node-install=cuda12 \
  && test -f node_modules/onnxruntime-node/bin/napi-v6/linux/x64/libonnxruntime_providers_cuda.so

FROM ${NODE_IMAGE} AS node-runtime

# --- gpu: the workers on an NVIDIA GPU (the API runs from the cpu image)
FROM ${CUDA_IMAGE} AS gpu
COPY --from=node-runtime /usr/local/bin/node /usr/local/bin/node
RUN groupadd --system --gid 10001 magicvideo \
  && useradd --system --uid 10001 --gid magicvideo --home-dir /app --shell /usr/sbin/nologin magicvideo
WORKDIR /app
COPY --from=deps-gpu /app/node_modules node_modules
COPY --from=build /src/dist dist
COPY package.json ./
COPY deploy/docker/healthcheck.mjs deploy/docker/healthcheck.mjs
COPY assets/models/magicvideo-shapes models/magicvideo-shapes
ENV NODE_ENV=production \
    MODELS_DIR=/app/models/magicvideo-shapes \
    ORT_EXECUTION_PROVIDER=cuda \
    NVIDIA_VISIBLE_DEVICES=all \
    NVIDIA_DRIVER_CAPABILITIES=compute,utility
USER 10001:10001
EXPOSE 3000 8081
# /readyz of whichever process this is (HEALTH_PORT for a worker, PORT for the API): ready means models loaded.
HEALTHCHECK --interval=15s --timeout=5s --start-period=300s --retries=3 CMD ["node", "deploy/docker/healthcheck.mjs"]
CMD ["node", "dist/apps/worker-keyframe/main.js"]

# --- cpu (default): the API and the workers on CPU
FROM ${NODE_IMAGE} AS cpu
RUN groupadd --system --gid 10001 magicvideo \
  && useradd --system --uid 10001 --gid magicvideo --home-dir /app --shell /usr/sbin/nologin magicvideo
WORKDIR /app
COPY --from=deps-cpu /app/node_modules node_modules
COPY --from=build /src/dist dist
COPY package.json ./
COPY deploy/docker/healthcheck.mjs deploy/docker/healthcheck.mjs
COPY assets/models/magicvideo-shapes models/magicvideo-shapes
ENV NODE_ENV=production \
    MODELS_DIR=/app/models/magicvideo-shapes \
    ORT_EXECUTION_PROVIDER=cpu
USER 10001:10001
EXPOSE 3000 8081
HEALTHCHECK --interval=15s --timeout=5s --start-period=120s --retries=3 CMD ["node", "deploy/docker/healthcheck.mjs"]
CMD ["node", "dist/apps/api/main.js"]
