#!/usr/bin/env bash
# Creates (or updates) the IAM role a workload's ServiceAccount assumes through IRSA, for vault-irsa's login.
# The role needs NO permissions policy: sts:GetCallerIdentity, the only call signed with its credentials, is
# allowed for every principal. Vault binds its role to this role's ARN (manifests/vault/configure-vault.sh).
#
# Environment:
#   NAMESPACE, SERVICE_ACCOUNT  the workload's ServiceAccount (required)
#   ROLE_NAME                   IAM role name (default vault-irsa-<namespace>-<serviceaccount>)
#   ACCOUNT_ID                  AWS account (default: aws sts get-caller-identity)
#   OIDC_PROVIDER               the cluster's OIDC issuer without https:// (e.g. oidc.eks.eu-west-1.amazonaws.com/id/ABC…),
#   or CLUSTER_NAME             to look it up with aws eks describe-cluster
#   DRY_RUN=1                   print the rendered trust policy and the commands, change nothing
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
template="$here/irsa-trust-policy.json.tmpl"

run() {
  echo "+ $*" >&2
  if [[ "${DRY_RUN:-0}" != "1" ]]; then "$@"; fi
}
die() { echo "create-irsa-role.sh: $*" >&2; exit 1; }

command -v envsubst >/dev/null || die "envsubst not found (package gettext-base)"
[[ -n "${NAMESPACE:-}" ]] || die "NAMESPACE is required"
[[ -n "${SERVICE_ACCOUNT:-}" ]] || die "SERVICE_ACCOUNT is required"
[[ "$NAMESPACE" =~ ^[a-z0-9]([-a-z0-9]*[a-z0-9])?$ ]] || die "NAMESPACE is not a DNS label: $NAMESPACE"
[[ "$SERVICE_ACCOUNT" =~ ^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$ ]] || die "SERVICE_ACCOUNT is not a valid name: $SERVICE_ACCOUNT"

if [[ -z "${ACCOUNT_ID:-}" ]]; then
  echo "+ aws sts get-caller-identity --query Account --output text" >&2
  ACCOUNT_ID=$(aws sts get-caller-identity --query Account --output text)
fi
[[ "$ACCOUNT_ID" =~ ^[0-9]{12}$ ]] || die "ACCOUNT_ID must be 12 digits: $ACCOUNT_ID"

if [[ -z "${OIDC_PROVIDER:-}" ]]; then
  [[ -n "${CLUSTER_NAME:-}" ]] || die "set OIDC_PROVIDER, or CLUSTER_NAME to look it up"
  echo "+ aws eks describe-cluster --name $CLUSTER_NAME --query cluster.identity.oidc.issuer --output text" >&2
  OIDC_PROVIDER=$(aws eks describe-cluster --name "$CLUSTER_NAME" --query cluster.identity.oidc.issuer --output text)
fi
OIDC_PROVIDER=${OIDC_PROVIDER#https://}
[[ "$OIDC_PROVIDER" =~ ^[A-Za-z0-9.-]+(/[A-Za-z0-9._-]+)*$ ]] || die "OIDC_PROVIDER looks wrong: $OIDC_PROVIDER"

ROLE_NAME=${ROLE_NAME:-vault-irsa-$NAMESPACE-$SERVICE_ACCOUNT}
[[ ${#ROLE_NAME} -le 64 ]] || die "ROLE_NAME is longer than IAM's 64 characters: $ROLE_NAME"
export ACCOUNT_ID OIDC_PROVIDER NAMESPACE SERVICE_ACCOUNT

policy_file=$(mktemp)
trap 'rm -f "$policy_file"' EXIT
# Only these four names are replaced: anything else that looks like ${...} in the template stays as written.
# shellcheck disable=SC2016
envsubst '${ACCOUNT_ID} ${OIDC_PROVIDER} ${NAMESPACE} ${SERVICE_ACCOUNT}' <"$template" >"$policy_file"
echo "# trust policy for $ROLE_NAME:" >&2
cat "$policy_file" >&2

if [[ "${DRY_RUN:-0}" != "1" ]] && aws iam get-role --role-name "$ROLE_NAME" >/dev/null 2>&1; then
  run aws iam update-assume-role-policy --role-name "$ROLE_NAME" --policy-document "file://$policy_file"
else
  run aws iam create-role --role-name "$ROLE_NAME" \
    --description "vault-irsa: Vault login for system:serviceaccount:$NAMESPACE:$SERVICE_ACCOUNT" \
    --assume-role-policy-document "file://$policy_file"
fi

role_arn="arn:aws:iam::$ACCOUNT_ID:role/$ROLE_NAME"
echo "role: $role_arn"
echo "next: kubectl -n $NAMESPACE annotate serviceaccount $SERVICE_ACCOUNT eks.amazonaws.com/role-arn=$role_arn --overwrite"
echo "      IAM_ROLE_ARN=$role_arn manifests/vault/configure-vault.sh"
