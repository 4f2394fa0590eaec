#!/usr/bin/env bash
# The README's first command: builds Mesh, starts the Inference service on stories260K from
# ../shared/models, asks it for a story over gRPC with the one-line client, and stops it.
set -euo pipefail
cd "$(dirname "$0")/.."
models="$(cd .. && pwd)/shared/models"
address=http://127.0.0.1:50051

dotnet build src/Inference -c Release --nologo -clp:ErrorsOnly >&2
inference=src/Inference/bin/Release/net10.0/Mesh.Inference.dll

dotnet "$inference" serve --model "$models/stories260K/stories260K.gguf" --Mesh:Endpoints:Grpc=$address 2>/tmp/mesh-inference.log &
server=$!
trap 'kill $server 2>/dev/null; wait $server 2>/dev/null || true' EXIT

# Wait for the service to answer (model loading is quick for stories260K).
for _ in $(seq 1 100); do
  if dotnet "$inference" generate --server $address --model stories260K --prompt "" --max-tokens 1 >/dev/null 2>&1; then break; fi
  sleep 0.2
done

dotnet "$inference" generate --server $address --model stories260K --prompt "Once upon a time" --max-tokens 200 --temperature 0.8 --seed 42
