# Sentiment API image: Node 24 LTS on Debian bookworm slim, model baked in, non-root.
#
#   docker build -t sentiment-api .                                   # real DistilBERT from the hub
#   docker build --build-arg MODEL_DTYPE=q8 -t sentiment-api .        # its int8-quantized ONNX file
#   docker build --build-arg MODEL_SOURCE=baseline -t sentiment-api . # offline: the lexicon baseline
#
# CI builds and runs it with podman/buildah: scripts/container-smoke.ts.

# Pinned by digest (the multi-arch index of the tag beside it): a rebuild gets the same base until
# this line is changed on purpose. Refresh: `docker buildx imagetools inspect node:24-bookworm-slim`.
ARG NODE_IMAGE=docker.io/library/node:24.20.0-bookworm-slim@sha256:ba849c60be29959425b8734d57b8b4b7d56f98edd9504c9af091d5281095a71e
# hub: download MODEL_ID at build time. baseline: generate the project's baseline (no network
# beyond npm), for offline builds and benchmarks.
ARG MODEL_SOURCE=hub

FROM ${NODE_IMAGE} AS deps
WORKDIR /app
# No install scripts run in the image (one of them is swagger-ui-dist's telemetry, @scarf/scarf).
# None is needed: onnxruntime-node's only downloads CUDA binaries (the package bundles the CPU
# ones), esbuild's only checks the binary its platform package already holds, protobufjs's only
# prints a version warning, and @parcel/watcher's builds from source only when no prebuilt fits.
COPY package.json package-lock.json ./
# And should a later change let install scripts run, onnxruntime-node's still downloads nothing.
ENV ONNXRUNTIME_NODE_INSTALL=skip
RUN npm ci --ignore-scripts --no-audit --no-fund

FROM deps AS build
COPY tsconfig.json tsconfig.build.json nest-cli.json ./
COPY src ./src
RUN npm run build

FROM deps AS production-deps
# Two large packages are mostly dead weight on a server (~390 MB): onnxruntime-node ships native
# libraries for five platforms and the image runs on one; onnxruntime-web (WebAssembly/WebGPU) is
# a dependency of transformers.js that its Node build never loads. The container smoke test in CI
# proves the pruned image still loads the model and answers. Workspace links (the SDK under sdk/)
# point at folders the image does not contain: dangling links go too.
RUN npm prune --omit=dev --no-audit --no-fund \
  && platform="$(node -p 'process.platform + "/" + process.arch')" \
  && find node_modules/onnxruntime-node/bin/napi-v6 -mindepth 2 -maxdepth 2 -type d \
     ! -path "*/napi-v6/${platform}" -exec rm -rf {} + \
  && test -d "node_modules/onnxruntime-node/bin/napi-v6/${platform}" \
  && rm -rf node_modules/onnxruntime-web \
  && find node_modules -mindepth 1 -maxdepth 2 -xtype l -delete

# The model stages copy only the sources their script imports, so a code change does not
# download or generate the model again.
FROM deps AS model-hub
ARG MODEL_ID=Xenova/distilbert-base-uncased-finetuned-sst-2-english
ARG MODEL_DTYPE=fp32
ARG MODEL_REVISION=main
# A hub mirror, if the build cannot reach huggingface.co.
ARG HF_ENDPOINT=https://huggingface.co
# The ONNX file's SHA-256, to pin the weights: another file fails the build, and the image's
# service checks it again at start (MODEL_SHA256).
ARG MODEL_SHA256=
COPY src/model/model-files.ts ./src/model/
COPY scripts/download-hub-model.ts ./scripts/
# A gated or private model's token is a build secret (`--secret id=hf_token,src=<file>`), never an
# ARG, whose value stays in the image history: it exists only in this step's environment.
RUN --mount=type=secret,id=hf_token \
    if [ -f /run/secrets/hf_token ]; then HF_TOKEN="$(cat /run/secrets/hf_token)"; export HF_TOKEN; fi \
    && npx tsx scripts/download-hub-model.ts --model-id "${MODEL_ID}" --dtype "${MODEL_DTYPE}" \
      --revision "${MODEL_REVISION}" --endpoint "${HF_ENDPOINT}" --sha256 "${MODEL_SHA256}" --models-dir /app/models

FROM deps AS model-baseline
ARG MODEL_DTYPE=fp32
COPY src/baseline-model ./src/baseline-model
COPY scripts/generate-baseline-model.ts ./scripts/
# The generator writes both dtypes; the image keeps the one it serves.
RUN npm run model:baseline -- --preset base --models-dir /app/models \
  && if [ "${MODEL_DTYPE}" = q8 ]; then unused=model.onnx; else unused=model_quantized.onnx; fi \
  && find /app/models -path "*/onnx/${unused}" -delete

FROM ${NODE_IMAGE} AS runtime-base
# tini as PID 1: forwards SIGTERM to Node (which then drains) and reaps zombies.
RUN apt-get update \
  && apt-get install -y --no-install-recommends tini \
  && apt-get clean \
  && rm -rf /var/lib/apt/lists/* \
  && groupadd --gid 10001 sentiment \
  && useradd --uid 10001 --gid 10001 --no-create-home --home-dir /app --shell /usr/sbin/nologin sentiment
WORKDIR /app

FROM runtime-base AS runtime-hub
ARG MODEL_ID=Xenova/distilbert-base-uncased-finetuned-sst-2-english
ARG MODEL_DTYPE=fp32
ARG MODEL_SHA256=
ENV MODEL_ID=${MODEL_ID} MODEL_DTYPE=${MODEL_DTYPE} MODEL_SHA256=${MODEL_SHA256}
COPY --from=model-hub /app/models ./models

FROM runtime-base AS runtime-baseline
ARG MODEL_DTYPE=fp32
ENV MODEL_ID=sentiment-api/distilbert-sst2-afinn-baseline-base MODEL_DTYPE=${MODEL_DTYPE}
COPY --from=model-baseline /app/models ./models

# Model first (large, rarely changes), then dependencies, then the code: rebuilds after a code
# change reuse the big layers.
FROM runtime-${MODEL_SOURCE} AS runtime
ENV NODE_ENV=production \
    HOST=0.0.0.0 \
    PORT=8000 \
    MODEL_DIR=/app/models \
    ALLOW_REMOTE_MODELS=false
COPY --from=production-deps /app/node_modules ./node_modules
COPY package.json ./
COPY --from=build /app/dist ./dist
USER 10001:10001
EXPOSE 8000
# Slim images have no curl: ask Node.
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.PORT || 8000) + '/health/ready').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
ENTRYPOINT ["/usr/bin/tini", "--"]
CMD ["node", "dist/main.js"]
