#!/usr/bin/env bash
# comfy-edge rig installer: a Python venv, ComfyUI at a pinned ref, its requirements, the custom
# nodes and the models. Safe to run again (it only does what is missing or changed); exits
# non-zero with a summary of what failed and what to do. See install/README.md.
set -uo pipefail

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
PROJECT_DIR="$(dirname "$SCRIPT_DIR")"

usage() {
  cat <<EOF
Usage: bash install/install.sh [options]

  --install-dir DIR   where venv/ and ComfyUI/ go (default: the project folder; env INSTALL_DIR)
  --dry-run           check dependencies and print what would be done; change nothing
  --skip-comfyui      leave ComfyUI/ as it is (no clone, no update)
  --skip-pip          install no Python requirements (ComfyUI's or the nodes')
  --skip-nodes        do not install custom nodes
  --skip-models       do not download models
  -h, --help          this text

Environment:
  COMFYUI_REPO        ComfyUI git URL (default ${DEFAULT_COMFYUI_REPO})
  COMFYUI_REF         tag or commit to check out (default ${DEFAULT_COMFYUI_REF}, v0.3.64)
  PYTHON              Python 3.10+ used to create the venv (default python3)
  NODE                Node 22+ (default: the project's node_modules/.bin/node, else node)
  GIT                 git (default git)
  NODES_CONFIG        custom nodes list (default install/configs/custom_nodes.txt)
  MODELS_CONFIG       models list (default install/configs/models.ini)
  MODELS_CONCURRENCY  parallel model downloads (default 4)
  TORCH_INDEX_URL     install torch from this index first, e.g. https://download.pytorch.org/whl/cu128
  HUGGINGFACE_TOKEN   for gated models (or put it in .env in the project folder)
  SKIP_COMFYUI, SKIP_PIP, SKIP_NODES, SKIP_MODELS, DRY_RUN = 1: as the flags
EOF
}

DEFAULT_COMFYUI_REPO="https://github.com/comfyanonymous/ComfyUI.git"
DEFAULT_COMFYUI_REF="637221995f7424a561bd825de3e61ea117dfe1e3"

INSTALL_DIR="${INSTALL_DIR:-$PROJECT_DIR}"
COMFYUI_REPO="${COMFYUI_REPO:-$DEFAULT_COMFYUI_REPO}"
COMFYUI_REF="${COMFYUI_REF:-$DEFAULT_COMFYUI_REF}"
PYTHON="${PYTHON:-python3}"
GIT="${GIT:-git}"
NODE="${NODE:-}"
NODES_CONFIG="${NODES_CONFIG:-$SCRIPT_DIR/configs/custom_nodes.txt}"
MODELS_CONFIG="${MODELS_CONFIG:-$SCRIPT_DIR/configs/models.ini}"
MODELS_CONCURRENCY="${MODELS_CONCURRENCY:-4}"
TORCH_INDEX_URL="${TORCH_INDEX_URL:-}"
DRY_RUN="${DRY_RUN:-0}"
SKIP_COMFYUI="${SKIP_COMFYUI:-0}"
SKIP_PIP="${SKIP_PIP:-0}"
SKIP_NODES="${SKIP_NODES:-0}"
SKIP_MODELS="${SKIP_MODELS:-0}"

while [ $# -gt 0 ]; do
  case "$1" in
    --install-dir) [ $# -ge 2 ] || { echo "--install-dir needs a folder" >&2; exit 2; }; INSTALL_DIR="$2"; shift ;;
    --install-dir=*) INSTALL_DIR="${1#*=}" ;;
    --dry-run) DRY_RUN=1 ;;
    --skip-comfyui) SKIP_COMFYUI=1 ;;
    --skip-pip) SKIP_PIP=1 ;;
    --skip-nodes) SKIP_NODES=1 ;;
    --skip-models) SKIP_MODELS=1 ;;
    -h|--help) usage; exit 0 ;;
    *) echo "unknown option: $1" >&2; echo >&2; usage >&2; exit 2 ;;
  esac
  shift
done

case "$INSTALL_DIR" in /*) ;; *) INSTALL_DIR="$PWD/$INSTALL_DIR" ;; esac
VENV_DIR="$INSTALL_DIR/venv"
VENV_PY="$VENV_DIR/bin/python"
COMFY_DIR="$INSTALL_DIR/ComfyUI"
# pip caches under $HOME by default; keep every write inside the install folder unless told otherwise.
export PIP_CACHE_DIR="${PIP_CACHE_DIR:-$INSTALL_DIR/.cache/pip}"
export PIP_DISABLE_PIP_VERSION_CHECK=1
export GIT_TERMINAL_PROMPT=0

FAILURES=()
fail() { FAILURES+=("$1"$'\n'"      fix: $2"); echo "  FAILED: $1" >&2; }
step() { echo; echo "==> $*"; }
is_on() { [ "$1" = 1 ] || [ "$1" = true ] || [ "$1" = yes ]; }
dry() { is_on "$DRY_RUN"; }

summary_and_exit() {
  echo
  if [ ${#FAILURES[@]} -gt 0 ]; then
    echo "Installation FAILED (${#FAILURES[@]} problem(s)):" >&2
    for f in "${FAILURES[@]}"; do echo "  - $f" >&2; done
    echo "Fix the above and run install.sh again: finished steps are kept and skipped." >&2
    exit 1
  fi
  if dry; then
    echo "Dry run complete: nothing was changed."
  else
    echo "Installation complete: ComfyUI in $COMFY_DIR, venv in $VENV_DIR."
    echo "Next: run an agent per GPU (install/README.md, 'Running agents as services')."
  fi
  exit 0
}
trap 'echo; echo "Interrupted: run install.sh again to continue (downloads resume)." >&2; exit 130' INT TERM

# version_at_least 3.11 3.10 -> true
version_at_least() {
  local IFS=.
  local -a have=($1) want=($2)
  local i
  for i in 0 1 2; do
    local h=${have[$i]:-0} w=${want[$i]:-0}
    h=${h%%[!0-9]*} w=${w%%[!0-9]*} # 22.6.0-nightly -> 22 6 0
    h=${h:-0} w=${w:-0}
    ((10#$h > 10#$w)) && return 0
    ((10#$h < 10#$w)) && return 1
  done
  return 0
}

# ---------------------------------------------------------------------------------------------
step "[1/6] Checking dependencies"
NEED_NODE=1
is_on "$SKIP_NODES" && is_on "$SKIP_MODELS" && NEED_NODE=0

if command -v "$GIT" >/dev/null 2>&1; then
  echo "  git: $("$GIT" --version 2>/dev/null)"
else
  fail "git not found ($GIT)" "install git (Debian/Ubuntu: sudo apt install git) or set GIT=/path/to/git"
fi

if ! command -v "$PYTHON" >/dev/null 2>&1; then
  fail "Python not found ($PYTHON)" "install Python 3.10+ (sudo apt install python3 python3-venv) or set PYTHON=/path/to/python3"
else
  PY_VERSION="$("$PYTHON" -c 'import sys; print("%d.%d.%d" % sys.version_info[:3])' 2>/dev/null || true)"
  if [ -z "$PY_VERSION" ]; then
    fail "$PYTHON does not run" "set PYTHON to a working Python 3.10+"
  elif ! version_at_least "$PY_VERSION" 3.10; then
    fail "Python $PY_VERSION is too old ($PYTHON); ComfyUI needs 3.10 or newer" "install Python 3.10+ and set PYTHON=/path/to/python3.x"
  elif [ ! -x "$VENV_PY" ] && ! "$PYTHON" -c 'import venv, ensurepip' >/dev/null 2>&1; then
    fail "Python $PY_VERSION has no venv/ensurepip module" "sudo apt install python${PY_VERSION%.*}-venv"
  else
    echo "  python: $PY_VERSION ($PYTHON)"
  fi
fi

NODE_FLAGS=()
if [ "$NEED_NODE" = 1 ]; then
  if [ -z "$NODE" ]; then
    if [ -x "$PROJECT_DIR/node_modules/.bin/node" ]; then NODE="$PROJECT_DIR/node_modules/.bin/node"; else NODE="node"; fi
  fi
  NODE_VERSION="$("$NODE" -p 'process.versions.node' 2>/dev/null || true)"
  if [ -z "$NODE_VERSION" ]; then
    fail "Node.js not found ($NODE)" "run 'npm ci' in $PROJECT_DIR (it brings the pinned Node 22) or install Node 22+"
  elif ! version_at_least "$NODE_VERSION" 22.6; then
    fail "Node $NODE_VERSION is too old ($NODE); the installer needs 22.6 or newer (22.18+ best)" "run 'npm ci' in $PROJECT_DIR for the pinned Node 22, or install Node 22+"
  else
    # Node 22.6-22.17 run TypeScript only with the flag; 22.18+ by default.
    version_at_least "$NODE_VERSION" 22.18 || NODE_FLAGS=(--experimental-strip-types --no-warnings)
    echo "  node: $NODE_VERSION ($NODE)"
    if [ ! -d "$PROJECT_DIR/node_modules/zod" ] || [ ! -d "$PROJECT_DIR/node_modules/cli-progress" ]; then
      fail "the project's Node packages are not installed" "run 'npm ci' in $PROJECT_DIR"
    fi
  fi
fi

if [ ${#FAILURES[@]} -gt 0 ]; then
  echo >&2
  echo "Missing dependencies; nothing was changed." >&2
  summary_and_exit
fi

run_node() { (cd "$PROJECT_DIR" && "$NODE" ${NODE_FLAGS[@]+"${NODE_FLAGS[@]}"} "$@"); }

# ---------------------------------------------------------------------------------------------
step "[2/6] Python venv ($VENV_DIR)"
VENV_OK=0
if [ -x "$VENV_PY" ] && "$VENV_PY" -c 'import sys' >/dev/null 2>&1; then
  echo "  reusing the existing venv"
  VENV_OK=1
  if ! is_on "$SKIP_PIP" && ! dry && ! "$VENV_PY" -m pip --version >/dev/null 2>&1 && ! "$VENV_PY" -m ensurepip --upgrade >/dev/null 2>&1; then
    VENV_OK=0
    fail "the venv at $VENV_DIR has no pip" "remove $VENV_DIR and run again (install python3-venv first if it is missing)"
  fi
elif dry; then
  echo "  would create it with $PYTHON -m venv"
  VENV_OK=1
else
  mkdir -p "$INSTALL_DIR"
  if "$PYTHON" -m venv "$VENV_DIR"; then
    echo "  created"
    VENV_OK=1
  else
    rm -rf "$VENV_DIR" # half a venv would pass for a whole one on the next run
    fail "could not create the venv at $VENV_DIR" "install the venv module (sudo apt install python3-venv) and run again"
  fi
fi

# ---------------------------------------------------------------------------------------------
step "[3/6] ComfyUI $COMFYUI_REF ($COMFY_DIR)"
COMFY_OK=0

resolve_ref() { # in a checkout: the commit a tag, a remote branch or a sha names
  local ref="$1" c
  for c in "refs/tags/$ref" "refs/remotes/origin/$ref" "$ref"; do
    "$GIT" rev-parse --verify --quiet "$c^{commit}" 2>/dev/null && return 0
  done
  return 1
}

local_pin() { # in a checkout: the commit of a pinned tag or sha we already have (never a branch: it may be stale)
  "$GIT" rev-parse --verify --quiet "refs/tags/$COMFYUI_REF^{commit}" 2>/dev/null && return 0
  [[ "$COMFYUI_REF" =~ ^[0-9a-fA-F]{7,40}$ ]] && "$GIT" rev-parse --verify --quiet "$COMFYUI_REF^{commit}" 2>/dev/null && return 0
  return 0
}

checkout_ref() { # in a checkout: detach at the ref (fetching once if it is not there yet)
  local sha
  sha="$(resolve_ref "$COMFYUI_REF")" || {
    "$GIT" fetch --quiet --tags --force origin || return 1
    sha="$(resolve_ref "$COMFYUI_REF")" || { echo "  ref $COMFYUI_REF not found in $COMFYUI_REPO" >&2; return 1; }
  }
  "$GIT" -c advice.detachedHead=false checkout --quiet --detach "$sha"
}

if is_on "$SKIP_COMFYUI"; then
  echo "  skipped (--skip-comfyui)"
  [ -d "$COMFY_DIR" ] && COMFY_OK=1
elif [ -d "$COMFY_DIR/.git" ]; then
  origin="$("$GIT" -C "$COMFY_DIR" remote get-url origin 2>/dev/null || true)"
  head="$("$GIT" -C "$COMFY_DIR" rev-parse HEAD 2>/dev/null || true)"
  want="$(cd "$COMFY_DIR" && local_pin)"
  if [ "${origin%.git}" != "${COMFYUI_REPO%.git}" ]; then
    fail "$COMFY_DIR is a checkout of '$origin', not $COMFYUI_REPO" "set COMFYUI_REPO to match, or move $COMFY_DIR aside (keep its models/ folder)"
  elif [ -n "$want" ] && [ "$want" = "$head" ]; then # a pin already checked out: no network needed
    echo "  already at $COMFYUI_REF (${head:0:8})"
    COMFY_OK=1
  elif dry; then
    echo "  would move the checkout from ${head:0:8} to $COMFYUI_REF"
    COMFY_OK=1
  elif (cd "$COMFY_DIR" && "$GIT" fetch --quiet --tags --force origin && checkout_ref); then
    echo "  updated ${head:0:8} -> $COMFYUI_REF ($("$GIT" -C "$COMFY_DIR" rev-parse --short=8 HEAD))"
    COMFY_OK=1
  else
    fail "could not move ComfyUI to $COMFYUI_REF" "check the network and COMFYUI_REF; local edits in $COMFY_DIR block a checkout ('git -C $COMFY_DIR status')"
  fi
elif [ -e "$COMFY_DIR" ]; then
  fail "$COMFY_DIR exists but is not a git checkout" "move it aside (keep its models/ folder) and run again"
elif dry; then
  echo "  would clone $COMFYUI_REPO at $COMFYUI_REF"
  COMFY_OK=1
else
  staging="$INSTALL_DIR/.ComfyUI.cloning"
  rm -rf "$staging"
  mkdir -p "$INSTALL_DIR"
  # Cloned aside and renamed at the end, so an interrupted clone never looks like an install.
  if "$GIT" clone --quiet "$COMFYUI_REPO" "$staging" && (cd "$staging" && checkout_ref) && mv "$staging" "$COMFY_DIR"; then
    echo "  cloned at $COMFYUI_REF ($("$GIT" -C "$COMFY_DIR" rev-parse --short=8 HEAD))"
    COMFY_OK=1
  else
    rm -rf "$staging"
    fail "could not clone $COMFYUI_REPO at $COMFYUI_REF" "check the network, COMFYUI_REPO and COMFYUI_REF, then run again"
  fi
fi

# ---------------------------------------------------------------------------------------------
step "[4/6] ComfyUI's Python requirements"
REQS="$COMFY_DIR/requirements.txt"
STAMP="$VENV_DIR/.comfy-edge-requirements"
if is_on "$SKIP_PIP"; then
  echo "  skipped (--skip-pip)"
elif [ "$VENV_OK" != 1 ] || [ "$COMFY_OK" != 1 ]; then
  echo "  skipped: needs the venv and ComfyUI (see above)"
elif dry; then
  echo "  would run: $VENV_PY -m pip install -r $REQS${TORCH_INDEX_URL:+ (torch from $TORCH_INDEX_URL first)}"
elif [ ! -f "$REQS" ]; then
  fail "$REQS is missing" "check that COMFYUI_REF is a ComfyUI release"
else
  stamp="$(sha256sum "$REQS" | cut -d' ' -f1) $TORCH_INDEX_URL"
  if [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$stamp" ]; then
    echo "  already installed (requirements.txt unchanged)"
  elif { [ -z "$TORCH_INDEX_URL" ] || "$VENV_PY" -m pip install torch torchvision torchaudio --index-url "$TORCH_INDEX_URL"; } &&
    "$VENV_PY" -m pip install -r "$REQS"; then
    printf '%s' "$stamp" >"$STAMP"
    echo "  installed"
  else
    fail "pip could not install ComfyUI's requirements" "read pip's error above; for a CUDA build of torch set TORCH_INDEX_URL (e.g. https://download.pytorch.org/whl/cu128)"
  fi
fi

# ---------------------------------------------------------------------------------------------
step "[5/6] Custom nodes ($NODES_CONFIG)"
if is_on "$SKIP_NODES"; then
  echo "  skipped (--skip-nodes)"
elif [ "$COMFY_OK" != 1 ] || { [ "$VENV_OK" != 1 ] && ! is_on "$SKIP_PIP"; }; then
  echo "  skipped: needs ComfyUI and the venv (see above)"
  fail "custom nodes were not installed" "fix the steps above first"
else
  args=(--config "$NODES_CONFIG" --dir "$COMFY_DIR/custom_nodes" --python "$VENV_PY")
  is_on "$SKIP_PIP" && args+=(--skip-pip)
  dry && args+=(--dry-run)
  run_node "$SCRIPT_DIR/nodes/bin.ts" "${args[@]}"
  case $? in
    0) ;;
    2) fail "the custom nodes list $NODES_CONFIG is invalid" "fix the lines named above" ;;
    *) fail "some custom nodes failed (the FAILED lines above)" "fix what each line says and run again" ;;
  esac
fi

# ---------------------------------------------------------------------------------------------
step "[6/6] Models ($MODELS_CONFIG)"
if is_on "$SKIP_MODELS"; then
  echo "  skipped (--skip-models)"
elif [ "$COMFY_OK" != 1 ]; then
  # Writing ComfyUI/models without a checkout would block the next run's clone.
  echo "  skipped: needs ComfyUI (see above)"
  fail "models were not downloaded" "fix the ComfyUI step first"
else
  args=(--config "$MODELS_CONFIG" --dest "$COMFY_DIR/models" --concurrency "$MODELS_CONCURRENCY")
  dry && args+=(--dry-run)
  run_node "$SCRIPT_DIR/models/bin.ts" "${args[@]}"
  case $? in
    0) ;;
    2) fail "$MODELS_CONFIG is invalid or the options are wrong" "fix the lines named above" ;;
    130) fail "model downloads were interrupted" "run again: partial downloads resume" ;;
    *) fail "some model downloads failed (listed above)" "fix what each says (e.g. HUGGINGFACE_TOKEN for gated models) and run again: finished files are skipped, partial ones resume" ;;
  esac
fi

summary_and_exit
