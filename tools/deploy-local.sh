#!/usr/bin/env bash
# make deploy-local: template.yaml deployed, as `sam deploy` deploys it, into ministack (an AWS
# emulator, no Docker) with IAM enforced, then driven through the deployed API. Everything the
# emulator needs lives here and in tools/deploy_local.py; nothing under layers/ or functions/
# knows about it. See docs/deploying.md.
set -euo pipefail
cd "$(dirname "$0")/.."

MINISTACK_VERSION=1.5.33
MS_VENV=.venv-ministack
SAM=.venv-sam/bin/sam
STACK=tidewater-local
BUILD_DIR=.aws-sam/build-local
STARTED=$(date +%s)
# Lambda's runtime is python3.12, and the emulator runs the functions on its own interpreter:
# both the build and the emulator use pyenv's 3.12 so that the cp312 wheels import.
export PYENV_VERSION=${PYENV_VERSION:-3.12.1}

step() { printf '[%4ss] %s\n' "$(($(date +%s) - STARTED))" "$*"; }
fail() { printf '[%4ss] FAILED: %s\n' "$(($(date +%s) - STARTED))" "$*" >&2; exit 1; }

# --------------------------------------------------------------------------- the emulator
if ! "$MS_VENV/bin/python" -c "import boto3, cryptography, ministack, samtranslator" 2>/dev/null \
    || [ "$("$MS_VENV/bin/python" -c 'from importlib.metadata import version; print(version("ministack"))')" != "$MINISTACK_VERSION" ]; then
    step "installing ministack $MINISTACK_VERSION into $MS_VENV (python3.12)"
    rm -rf "$MS_VENV"
    python3.12 -m venv "$MS_VENV"
    # boto3: the Lambda runtime provides it to the functions, and so must the emulator's.
    # aws-sam-translator: the emulator applies the template's SAM transform with it;
    # cryptography: its Cognito signs tokens with RSA keys (without it, no valid JWT).
    "$MS_VENV/bin/python" -m pip install --quiet --disable-pip-version-check \
        "ministack==$MINISTACK_VERSION" boto3 aws-sam-translator cryptography
fi

PORT=$(.venv/bin/python -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
ENDPOINT="http://127.0.0.1:$PORT"
LOG=.aws-sam/ministack.log
mkdir -p .aws-sam
step "starting ministack on $ENDPOINT (AUTH=true: IAM enforced; log: $LOG)"
# SFN_WAIT_SCALE: the summariser workflow's 30 s Wait takes 3 s here.
BIND_HOST=127.0.0.1 GATEWAY_PORT=$PORT IOT_MTLS_ENABLED=0 AUTH=true SFN_WAIT_SCALE=0.1 \
    "$MS_VENV/bin/ministack" >"$LOG" 2>&1 &
MS_PID=$!
stop_emulator() {
    status=$?
    if kill -0 "$MS_PID" 2>/dev/null; then
        kill "$MS_PID" 2>/dev/null || true
        for _ in $(seq 50); do kill -0 "$MS_PID" 2>/dev/null || break; sleep 0.1; done
        kill -9 "$MS_PID" 2>/dev/null || true
        step "ministack (pid $MS_PID) stopped"
    fi
    if [ "$status" -ne 0 ]; then
        echo "--- last lines of $LOG:" >&2
        tail -n 40 "$LOG" >&2 || true
    fi
    exit "$status"
}
trap stop_emulator EXIT
trap 'exit 130' INT TERM
for _ in $(seq 150); do
    curl -fsS "$ENDPOINT/_ministack/health" >/dev/null 2>&1 && break
    kill -0 "$MS_PID" 2>/dev/null || fail "ministack exited at start (see $LOG)"
    sleep 0.2
done
curl -fsS "$ENDPOINT/_ministack/health" >/dev/null || fail "ministack did not answer within 30 s"
step "ministack ready"

# --------------------------------------------------------------------------- build and deploy
# The emulator's host is x86_64: the functions and the layer are built for it.
export AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test AWS_DEFAULT_REGION=us-east-1
export AWS_ENDPOINT_URL=$ENDPOINT SAM_CLI_TELEMETRY=0
unset AWS_PROFILE AWS_SESSION_TOKEN
# ministack has no CloudFront: the web app's hosting is left out (WebHosting=false).
OVERRIDES=(Architecture=x86_64 Stage=local DonationMinDonors=1 DonationEmbargoDays=0 WebHosting=false)
step "sam build (x86_64) into $BUILD_DIR"
"$SAM" build --build-dir "$BUILD_DIR" --parameter-overrides "${OVERRIDES[@]}" \
    >.aws-sam/build-local.log 2>&1 || { tail -n 30 .aws-sam/build-local.log; fail "sam build"; }
step "the built layer holds the deployed package only"
layer="$BUILD_DIR/CoreLayer/python"
[ -d "$layer/tidewater" ] || fail "no tidewater package in $layer"
for forbidden in tidewater_local moto tests; do
    if [ -e "$layer/$forbidden" ]; then fail "the layer holds $forbidden/"; fi
done
if find "$layer" -maxdepth 1 -iname 'moto-*' | grep -q .; then fail "the layer holds moto"; fi

step "sam deploy $STACK"
"$SAM" deploy --template-file "$BUILD_DIR/template.yaml" --stack-name "$STACK" \
    --resolve-s3 --capabilities CAPABILITY_IAM CAPABILITY_AUTO_EXPAND \
    --no-confirm-changeset --no-fail-on-empty-changeset --region us-east-1 \
    --parameter-overrides "${OVERRIDES[@]}" >.aws-sam/deploy-local.log 2>&1 \
    || { tail -n 40 .aws-sam/deploy-local.log; fail "sam deploy"; }
step "deployed"
DEPLOYED=$(date +%s)

# --------------------------------------------------------------------------- routes and smoke
.venv/bin/python tools/deploy_local.py --endpoint "$ENDPOINT" --stack "$STACK" --started "$STARTED" --deployed-at "$DEPLOYED"
step "deploy-local passed"
