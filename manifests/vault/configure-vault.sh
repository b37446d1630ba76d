#!/usr/bin/env bash
# Configures a Vault server for vault-irsa: the AWS auth method (auth_type=iam), its client config, a role bound
# to the workload's IAM role, a KV v2 mount and the policy the role's tokens get. Safe to re-run: every step is a
# write of the desired state. Needs the vault CLI, logged in (VAULT_ADDR, VAULT_TOKEN) with rights to do so.
#
# Environment (defaults in brackets):
#   IAM_ROLE_ARN      the workload's IAM role, arn:aws:iam::<account>:role/<name> (required; see
#                     manifests/aws/create-irsa-role.sh). No role path: Vault compares the canonical ARN.
#   VAULT_ROLE        Vault role name, the pod's vault-irsa.io/role annotation [app]
#   AUTH_MOUNT        path of the AWS auth method, the pod's vault-irsa.io/auth-mount [aws]
#   IAM_SERVER_ID     X-Vault-AWS-IAM-Server-ID value logins must carry; the chart's vault.iamServerId [none]
#   STS_REGION        region the sidecars sign for, the chart's aws.stsRegion [us-east-1]
#   STS_ENDPOINT      where Vault forwards logins [https://sts.amazonaws.com for us-east-1, else
#                     https://sts.<region>.amazonaws.com]: it must match what the sidecar signed for
#   KV_MOUNT          KV v2 mount [secret]
#   SECRET_PATH       path under it the role may read, a trailing * for a prefix [my-app*]
#   POLICY_NAME       Vault policy for the role's tokens [vault-irsa-<VAULT_ROLE>]
#   TOKEN_TTL, TOKEN_MAX_TTL  lifetime of the sidecar's Vault token [1h, 24h]
#   DRY_RUN=1         print the commands, change nothing
set -euo pipefail

die() { echo "configure-vault.sh: $*" >&2; exit 1; }
run() {
  echo "+ $*" >&2
  if [[ "${DRY_RUN:-0}" != "1" ]]; then "$@"; fi
}
step() { echo "==> $*" >&2; }

: "${IAM_ROLE_ARN:?IAM_ROLE_ARN is required: the workload IAM role, arn:aws:iam::<account>:role/<name>}"
VAULT_ROLE=${VAULT_ROLE:-app}
AUTH_MOUNT=${AUTH_MOUNT:-aws}
IAM_SERVER_ID=${IAM_SERVER_ID:-}
STS_REGION=${STS_REGION:-us-east-1}
KV_MOUNT=${KV_MOUNT:-secret}
SECRET_PATH=${SECRET_PATH:-my-app*}
POLICY_NAME=${POLICY_NAME:-vault-irsa-$VAULT_ROLE}
TOKEN_TTL=${TOKEN_TTL:-1h}
TOKEN_MAX_TTL=${TOKEN_MAX_TTL:-24h}

[[ "$IAM_ROLE_ARN" =~ ^arn:aws[a-z-]*:iam::[0-9]{12}:role/[A-Za-z0-9+=,.@_-]+$ ]] ||
  die "IAM_ROLE_ARN must be arn:aws:iam::<12 digits>:role/<name> without a path: $IAM_ROLE_ARN"
[[ "$STS_REGION" =~ ^[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-[0-9]+$ ]] || die "STS_REGION is not an AWS region: $STS_REGION"
[[ "$VAULT_ROLE" =~ ^[A-Za-z0-9_.@-]+$ ]] || die "VAULT_ROLE has characters Vault role names cannot: $VAULT_ROLE"
[[ "$AUTH_MOUNT" =~ ^[A-Za-z0-9_/-]+$ && "$KV_MOUNT" =~ ^[A-Za-z0-9_/-]+$ ]] || die "AUTH_MOUNT and KV_MOUNT must be plain mount paths"
[[ "$SECRET_PATH" != *..* && -n "$SECRET_PATH" ]] || die "SECRET_PATH must be a non-empty path without '..'"

# The sidecar signs GetCallerIdentity for the global endpoint when STS_REGION is us-east-1, else for the regional
# one; Vault sends the request to its own sts_endpoint, and STS rejects a signature scoped to another region.
if [[ -z "${STS_ENDPOINT:-}" ]]; then
  if [[ "$STS_REGION" == "us-east-1" ]]; then
    STS_ENDPOINT=https://sts.amazonaws.com
  else
    STS_ENDPOINT=https://sts.$STS_REGION.amazonaws.com
  fi
fi

if [[ "${DRY_RUN:-0}" != "1" ]]; then
  command -v vault >/dev/null || die "the vault CLI is not on PATH"
  : "${VAULT_ADDR:?VAULT_ADDR is required}"
fi

step "AWS auth method at auth/$AUTH_MOUNT"
if [[ "${DRY_RUN:-0}" == "1" ]] || ! vault auth list -format=json | grep -q "\"$AUTH_MOUNT/\""; then
  run vault auth enable -path="$AUTH_MOUNT" aws
else
  echo "    already enabled" >&2
fi

step "client config: where logins are forwarded, and the server-ID header they must carry"
client_args=("sts_endpoint=$STS_ENDPOINT" "sts_region=$STS_REGION")
if [[ -n "$IAM_SERVER_ID" ]]; then
  client_args+=("iam_server_id_header_value=$IAM_SERVER_ID")
else
  echo "    IAM_SERVER_ID is empty: logins are not bound to this Vault (set it, and vault.iamServerId in the chart)" >&2
fi
run vault write "auth/$AUTH_MOUNT/config/client" "${client_args[@]}"

step "KV v2 mount at $KV_MOUNT/"
if [[ "${DRY_RUN:-0}" == "1" ]] || ! vault secrets list -format=json | grep -q "\"$KV_MOUNT/\""; then
  run vault secrets enable -path="$KV_MOUNT" -version=2 kv
else
  echo "    already mounted (KV v1 mounts work too; the policy below assumes v2 paths)" >&2
fi

step "policy $POLICY_NAME: read $KV_MOUNT/$SECRET_PATH"
policy=$(cat <<HCL
# Written by vault-irsa manifests/vault/configure-vault.sh
path "$KV_MOUNT/data/$SECRET_PATH" {
  capabilities = ["read"]
}
path "$KV_MOUNT/metadata/$SECRET_PATH" {
  capabilities = ["read"]
}
HCL
)
echo "$policy" >&2
echo "+ vault policy write $POLICY_NAME -" >&2
if [[ "${DRY_RUN:-0}" != "1" ]]; then
  printf '%s\n' "$policy" | vault policy write "$POLICY_NAME" -
fi

step "role $VAULT_ROLE: auth_type=iam, bound to $IAM_ROLE_ARN"
run vault write "auth/$AUTH_MOUNT/role/$VAULT_ROLE" \
  auth_type=iam \
  "bound_iam_principal_arn=$IAM_ROLE_ARN" \
  "token_policies=$POLICY_NAME" \
  "token_ttl=$TOKEN_TTL" \
  "token_max_ttl=$TOKEN_MAX_TTL"

echo "done. Annotate pods with vault-irsa.io/role: $VAULT_ROLE, e.g. vault-irsa.io/secret-db: $KV_MOUNT/${SECRET_PATH%\*}" >&2
