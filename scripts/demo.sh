#!/usr/bin/env bash
# make demo: runs circleci-ecr-oidc against a throwaway local AWS emulator
# (moto_server) so that anyone can see the whole flow without an AWS account.
# Nothing here touches real AWS: every call goes to 127.0.0.1.
set -euo pipefail
bin=${1:-bin/circleci-ecr-oidc}
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')
workdir=$(mktemp -d)
moto_server -H 127.0.0.1 -p "$port" >"$workdir/moto.log" 2>&1 &
moto_pid=$!
cleanup() { kill "$moto_pid" 2>/dev/null || true; wait "$moto_pid" 2>/dev/null || true; rm -rf "$workdir"; }
trap cleanup EXIT

endpoint="http://127.0.0.1:$port"
for _ in $(seq 1 200); do
	curl -fsS "$endpoint/moto-api/" >/dev/null 2>&1 && break
	sleep 0.1
done

# Dummy credentials and empty config files keep your real ~/.aws out of it.
export AWS_ENDPOINT_URL="$endpoint" AWS_ACCESS_KEY_ID=demo AWS_SECRET_ACCESS_KEY=demo AWS_REGION=us-east-1
export AWS_CONFIG_FILE="$workdir/config" AWS_SHARED_CREDENTIALS_FILE="$workdir/credentials" AWS_EC2_METADATA_DISABLED=true
unset AWS_PROFILE AWS_SESSION_TOKEN
touch "$AWS_CONFIG_FILE" "$AWS_SHARED_CREDENTIALS_FILE"

# Two example repositories, created over the ECR wire protocol with curl.
for repo in app tools/builder; do
	curl -fsS -X POST "$endpoint/" \
		-H 'Content-Type: application/x-amz-json-1.1' \
		-H 'X-Amz-Target: AmazonEC2ContainerRegistry_V20150921.CreateRepository' \
		-H 'Authorization: AWS4-HMAC-SHA256 Credential=demo/20260101/us-east-1/ecr/aws4_request, SignedHeaders=host, Signature=0' \
		-d "{\"repositoryName\":\"$repo\"}" >/dev/null
done

org=2ce1a0c6-3b4e-4f1a-9a55-3d2f0e6c1b7d
project=8e7c4b1e-5a0d-4c3b-9f2e-1d6a7b8c9d0e
args=(--org-id "$org" --repo app,tools/builder --project-id "$project")

echo "== moto_server on $endpoint (account 123456789012); example repositories: app, tools/builder"
echo "== $ circleci-ecr-oidc setup ${args[*]} --yes"
"$bin" setup "${args[@]}" --yes
echo
echo "== second run, same inputs: nothing to change, zero writes"
echo "== $ circleci-ecr-oidc plan ${args[*]} --detailed-exitcode"
"$bin" plan "${args[@]}" --detailed-exitcode
echo
echo "== would a job of project $project get in? verify checks the live role with a synthetic token"
echo "== $ circleci-ecr-oidc verify ${args[*]} --claims project-id=$project"
"$bin" verify "${args[@]}" --claims "project-id=$project"
echo
echo "== the classic mistake, an audience copied from a GitHub example: verify names the failing condition"
echo "== (without --repo and --project-id, verify checks only the token)"
echo "== $ circleci-ecr-oidc verify --org-id $org --claims project-id=$project,aud=sts.amazonaws.com"
"$bin" verify --org-id "$org" --claims "project-id=$project,aud=sts.amazonaws.com" || echo "(exit status $?: the token would be denied)"
echo
echo "== the same resources as Terraform instead, with no AWS calls (or --format cloudformation)"
echo "== $ circleci-ecr-oidc export --format terraform --out <dir> ${args[*]}"
"$bin" export --format terraform --out "$workdir/terraform" "${args[@]}"
grep -E '^(resource|data|variable|output) ' "$workdir/terraform/main.tf"
echo
echo "== demo done; the emulator stops now"
