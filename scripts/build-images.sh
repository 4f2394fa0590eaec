#!/usr/bin/env bash
# Builds the four service images as archives under artifacts/images/ with the .NET SDK's container
# support (no Docker daemon): mesh/{gateway,inference,retrieval,guard}:0.1.0 on the chiseled ASP.NET
# base (src/Containers.targets). Needs mcr.microsoft.com for the base image.
#   scripts/build-images.sh                 # archives; load one with `docker load -i` / `podman load -i`
#   CONTAINER_REGISTRY=registry.example.com/team scripts/build-images.sh   # push instead
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p artifacts/images
for service in Gateway Inference Retrieval Guard; do
  name=$(tr '[:upper:]' '[:lower:]' <<<"$service")
  if [[ -n ${CONTAINER_REGISTRY:-} ]]; then
    dotnet publish "src/$service" -c Release -t:PublishContainer --nologo -clp:ErrorsOnly -p:ContainerRegistry="$CONTAINER_REGISTRY"
  else
    dotnet publish "src/$service" -c Release -t:PublishContainer --nologo -clp:ErrorsOnly \
      -p:ContainerArchiveOutputPath="$PWD/artifacts/images/$name.tar.gz"
    echo "artifacts/images/$name.tar.gz"
  fi
done
