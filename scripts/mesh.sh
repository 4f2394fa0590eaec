#!/usr/bin/env bash
# The whole mesh on loopback, as one product: Gateway, Inference, Retrieval and Guard.
#
#   scripts/mesh.sh up       build once (Release), start all four, wait until every service is
#                            SERVING through the gateway, write a development API key to
#                            .mesh/dev-key, load the demo knowledge base (demo/retail) into the
#                            collection "demo", print the endpoints
#   scripts/mesh.sh status   which processes run, and whether each service is SERVING
#   scripts/mesh.sh logs [NAME] [-f]   the services' logs (.mesh/logs/NAME.log)
#   scripts/mesh.sh down     stop exactly the processes `up` started (.mesh/pids), nothing else
#
# Environment (defaults): MESH_GATEWAY_GRPC_PORT (8080), MESH_GATEWAY_HTTP_PORT (8081),
# MESH_INFERENCE_PORT (50051), MESH_RETRIEVAL_PORT (50052), MESH_GUARD_PORT (50053), the services'
# /metrics ports MESH_*_HTTP_PORT (50061..50063), MESH_MODEL (a path, or a reference such as
# hf:org/repo:Q4_K_M pulled into the model cache; default below), MESH_MODEL_ID (the id requests use;
# default the file name, or the reference's file or repository name), MESH_CHAT_TEMPLATE (llama2;
# empty: the model's own), MESH_JUDGE_MAX_TOKENS and MESH_JUDGE_MAX_REASON_CHARS (Guard's judge, which
# is the served model: 256 and 300, 64 and 40 for stories260K), MESH_SKIP_BUILD=1 to use what is
# built, MESH_STATE (.mesh) for keys, pids, logs and data, MESH_UP_TIMEOUT_S (180).
#
# The default model, stories260K, comes from the first of: $MESH_SHARED_MODELS (../shared/models, this
# project's machines) when present; else the model cache ($MESH_HOME or ~/.cache/mesh) without network;
# else a pull from the Hugging Face Hub ($HF_ENDPOINT, default huggingface.co) of the files listed with
# their sha256 in models.lock. MESH_SHARED_MODELS=/nonexistent forces the cache/pull path.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
state=${MESH_STATE:-$root/.mesh}
gw_grpc=${MESH_GATEWAY_GRPC_PORT:-8080}
gw_http=${MESH_GATEWAY_HTTP_PORT:-8081}
inf_port=${MESH_INFERENCE_PORT:-50051}
ret_port=${MESH_RETRIEVAL_PORT:-50052}
grd_port=${MESH_GUARD_PORT:-50053}
inf_http=${MESH_INFERENCE_HTTP_PORT:-50061}
ret_http=${MESH_RETRIEVAL_HTTP_PORT:-50062}
grd_http=${MESH_GUARD_HTTP_PORT:-50063}
shared_models=${MESH_SHARED_MODELS:-$(cd "$root/.." && pwd)/shared/models}
default_name=stories260K
if [[ -n ${MESH_MODEL:-} ]]; then model=$MESH_MODEL
elif [[ -f $shared_models/stories260K/stories260K.gguf ]]; then model=$shared_models/stories260K/stories260K.gguf
else model=lock:$default_name; fi
# stories260K carries no chat template; Chat and the OpenAI chat endpoint need one (a model's own wins
# when MESH_CHAT_TEMPLATE is set to the empty string).
chat_template=${MESH_CHAT_TEMPLATE-llama2}
# The id requests use: a file's name, a reference's file (or repository) name, the lock's name.
model_id_of() {
  local m=${1%%#*}
  case $m in
    lock:*) echo "${m#lock:}" ;;
    hf:*) m=${m#hf:}; m=${m%@*}; if [[ $m == *:* ]]; then m=$(basename "${m#*:}"); echo "${m%.*}"; else echo "${m#*/}"; fi ;;
    http://*|https://*) m=$(basename "${m%%\?*}"); echo "${m%.*}" ;;
    *) m=$(basename "$m"); echo "${m%.*}" ;;
  esac
}
model_id=${MESH_MODEL_ID:-$(model_id_of "$model")}
# The judge's output budget: its prompt (rubric, sources, question, answer) plus these tokens must fit
# the model's context, which for stories260K is 512 tokens.
if [[ $model_id == stories260K ]]; then judge_default_tokens=64 judge_default_reason=40; else judge_default_tokens=256 judge_default_reason=300; fi
judge_max_tokens=${MESH_JUDGE_MAX_TOKENS:-$judge_default_tokens}
judge_reason_chars=${MESH_JUDGE_MAX_REASON_CHARS:-$judge_default_reason}
bin() { echo "$root/$1/bin/Release/net10.0/$2.dll"; }
demo_tool=$(bin tools/Mesh.Demo Mesh.Demo)
services=(inference retrieval guard gateway)

# The pid of a started service, if that process still runs the service's dll (a reused pid is not ours).
running_pid() {
  local file="$state/pids/$1.pid" pid
  [[ -f $file ]] || return 1
  pid=$(cat "$file")
  [[ -r /proc/$pid/cmdline ]] && tr '\0' ' ' <"/proc/$pid/cmdline" | grep -q "Mesh\.[A-Za-z]*\.dll" || return 1
  echo "$pid"
}

port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

start() { # name dll args...
  local name=$1 dll=$2; shift 2
  mkdir -p "$state/logs" "$state/pids"
  nohup dotnet "$dll" "$@" >"$state/logs/$name.log" 2>&1 </dev/null &
  echo $! >"$state/pids/$name.pid"
}

endpoints() {
  cat <<EOT
Mesh is up (model $model_id, collection "demo"):
  gateway gRPC   http://127.0.0.1:$gw_grpc   (every service, plus mesh.assistant.v1.AssistantService)
  gateway HTTP   http://127.0.0.1:$gw_http   (OpenAI API /v1/chat/completions, /v1/completions, /v1/models; /metrics, /healthz)
  API key        $state/dev-key   (send as: authorization: Bearer \$(cat .mesh/dev-key))
  services       inference :$inf_port  retrieval :$ret_port  guard :$grd_port   (direct, for debugging)
  try            dotnet $(realpath --relative-to="$root" "$demo_tool") ask --model $model_id "What is the return policy?"
  stop           scripts/mesh.sh down
EOT
}

# Resolves a reference through the model cache: first without network, else with it. Prints the path.
pull_model() {
  local inference
  inference=$(bin src/Inference Mesh.Inference)
  dotnet "$inference" pull --offline "$1" 2>/dev/null && return 0
  dotnet "$inference" pull "$1" || { echo "mesh.sh: could not fetch $1 (offline? set HF_ENDPOINT to a mirror, or MESH_MODEL to a local file)" >&2; return 1; }
}

# Pulls every file models.lock lists for a name, each pinned by its sha256; prints the first's reference.
pull_locked() {
  local name=$1 ref sha first=
  while read -r n ref sha; do
    [[ $n == "$name" ]] || continue
    echo "model $name: $ref (sha256 ${sha:0:12}…) from the cache or the hub..." >&2
    pull_model "$ref#sha256=$sha" >/dev/null || return 1
    first=${first:-$ref#sha256=$sha}
  done < <(grep -v '^#' "$root/models.lock")
  [[ -n $first ]] || { echo "mesh.sh: models.lock lists no $name" >&2; return 1; }
  echo "$first"
}

health_args() { echo "inference=http://127.0.0.1:$inf_port retrieval=http://127.0.0.1:$ret_port guard=http://127.0.0.1:$grd_port"; }

up() {
  if running_pid gateway >/dev/null; then
    echo "mesh.sh: already up (scripts/mesh.sh down first to restart)"; endpoints; return 0
  fi
  if [[ $model != lock:* && $model != hf:* && $model != http://* && $model != https://* ]]; then
    [[ -e $model ]] || { echo "mesh.sh: no model at $model (set MESH_MODEL)" >&2; return 1; }
  fi
  for p in $gw_grpc $gw_http $inf_port $ret_port $grd_port $inf_http $ret_http $grd_http; do
    port_free "$p" || { echo "mesh.sh: port $p is in use (set the MESH_*_PORT variables)" >&2; return 1; }
  done
  if [[ ${MESH_SKIP_BUILD:-0} != 1 ]]; then
    echo "building (Release)..."
    mkdir -p "$state/logs"
    for project in src/Gateway src/Inference src/Retrieval src/Guard tools/Mesh.Demo; do
      dotnet build "$project" -c Release --nologo -clp:ErrorsOnly >"$state/logs/build.log" 2>&1 \
        || { cat "$state/logs/build.log" >&2; echo "mesh.sh: building $project failed" >&2; return 1; }
    done
  fi
  local serve_model=$model offline=
  if [[ $model == hf:* || $model == http://* || $model == https://* ]]; then
    echo "fetching $model into the model cache..."
    pull_model "$model" >/dev/null || return 1
    offline=--offline
  elif [[ $model == lock:* ]]; then
    serve_model=$(pull_locked "${model#lock:}") || return 1
    offline=--offline
  fi
  mkdir -p "$state/data/retrieval"
  # A development key and tenant-signing secret, made once and kept with the mesh's state.
  umask 077
  [[ -s $state/dev-key ]] || head -c 32 /dev/urandom | base64 | tr -d '/+=\n' >"$state/dev-key"
  [[ -s $state/tenant-secret ]] || head -c 32 /dev/urandom | base64 | tr -d '\n' >"$state/tenant-secret"
  umask 022
  local hash secret
  hash=$(printf %s "$(cat "$state/dev-key")" | sha256sum | cut -d' ' -f1)
  secret=$(cat "$state/tenant-secret")
  trap 'echo "mesh.sh: up failed; logs in $state/logs" >&2; down >&2' ERR

  export Mesh__Tenancy__SigningKey=$secret Gateway__TenantSigningKey=$secret
  echo "$model_id" >"$state/model-id"
  start inference "$(bin src/Inference Mesh.Inference)" serve --model "$serve_model" $offline --Inference:Models:0:Id="$model_id" \
    ${chat_template:+--chat-template "$chat_template"} \
    --Mesh:Endpoints:Grpc=http://127.0.0.1:$inf_port --Mesh:Endpoints:Http=http://127.0.0.1:$inf_http
  start retrieval "$(bin src/Retrieval Mesh.Retrieval)" --Retrieval:DataPath="$state/data/retrieval" \
    --Mesh:Endpoints:Grpc=http://127.0.0.1:$ret_port --Mesh:Endpoints:Http=http://127.0.0.1:$ret_http
  # Guard's judge (QualityService/Evaluate, `eval --judge`) is the model this mesh serves.
  start guard "$(bin src/Guard Mesh.Guard)" \
    --Mesh:Endpoints:Grpc=http://127.0.0.1:$grd_port --Mesh:Endpoints:Http=http://127.0.0.1:$grd_http \
    --Guard:Judge:Endpoint=http://127.0.0.1:$inf_port --Guard:Judge:Model="$model_id" \
    --Guard:Judge:MaxTokens="$judge_max_tokens" --Guard:Judge:MaxReasonChars="$judge_reason_chars"
  start gateway "$(bin src/Gateway Mesh.Gateway)" \
    --Mesh:Endpoints:Grpc=http://127.0.0.1:$gw_grpc --Mesh:Endpoints:Http=http://127.0.0.1:$gw_http \
    --ReverseProxy:Clusters:inference:Destinations:r1:Address=http://127.0.0.1:$inf_port \
    --ReverseProxy:Clusters:retrieval:Destinations:r1:Address=http://127.0.0.1:$ret_port \
    --ReverseProxy:Clusters:guard:Destinations:r1:Address=http://127.0.0.1:$grd_port \
    --Gateway:ApiKeys:dev:Sha256="$hash" --Gateway:ApiKeys:dev:Tenant=dev \
    --Gateway:ApiKeys:dev:Models:0='*' --Gateway:ApiKeys:dev:Collections:0='*' \
    --Gateway:ApiKeys:dev:RequestsPerSecond=1000 --Gateway:ApiKeys:dev:MaxConcurrentStreams=64 \
    --Gateway:ApiKeys:dev:TokensPerMinute=100000000
  unset Mesh__Tenancy__SigningKey Gateway__TenantSigningKey

  echo "waiting for every service to be SERVING through the gateway..."
  export MESH_GATEWAY=http://127.0.0.1:$gw_grpc MESH_API_KEY
  MESH_API_KEY=$(cat "$state/dev-key")
  # shellcheck disable=SC2046
  dotnet "$demo_tool" wait $(health_args) --timeout-s "${MESH_UP_TIMEOUT_S:-180}"
  echo "loading the demo knowledge base..."
  dotnet "$demo_tool" load --dir "$root/demo/retail" --collection demo
  trap - ERR
  endpoints
}

status() {
  local any=0 name pid
  for name in "${services[@]}"; do
    if pid=$(running_pid "$name"); then echo "$name: running (pid $pid)"; any=1; else echo "$name: stopped"; fi
  done
  [[ $any == 1 ]] || return 1
  [[ -s $state/dev-key ]] || return 1
  # shellcheck disable=SC2046
  MESH_GATEWAY=http://127.0.0.1:$gw_grpc MESH_API_KEY=$(cat "$state/dev-key") dotnet "$demo_tool" status $(health_args)
}

down() {
  local name pid
  for name in gateway inference retrieval guard; do
    if pid=$(running_pid "$name"); then
      kill -TERM "$pid" 2>/dev/null || true
      for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
      if kill -0 "$pid" 2>/dev/null; then echo "$name (pid $pid) did not stop in 10 s; killing it" >&2; kill -KILL "$pid" 2>/dev/null || true; fi
      echo "$name: stopped (pid $pid)"
    fi
    rm -f "$state/pids/$name.pid"
  done
}

logs() {
  local name=${1:-} follow=
  [[ ${2:-} == -f || ${1:-} == -f ]] && follow=-f
  [[ $name == -f ]] && name=
  if [[ -n $name ]]; then tail -n 100 $follow "$state/logs/$name.log"; else tail -n 20 $follow "$state"/logs/*.log; fi
}

case ${1:-} in
  up) up ;;
  down) down ;;
  status) status ;;
  logs) shift; logs "$@" ;;
  *) echo "usage: scripts/mesh.sh up|down|status|logs [NAME] [-f]" >&2; exit 2 ;;
esac
