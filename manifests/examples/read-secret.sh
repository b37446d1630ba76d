#!/bin/sh
# How an app container reads a secret from the vault-irsa sidecar: plain HTTP on loopback, with the bearer token
# the sidecar wrote to a memory-backed volume. The webhook sets both variables in every app container.
#   read-secret.sh db            -> the whole secret as JSON: {"name","path","data":{...},"version",...}
#   read-secret.sh db password   -> that key's value alone (text/plain)
# Exits non-zero on 401/403/404/503 (curl -f), printing the sidecar's JSON error on stderr.
set -eu

name=${1:?usage: read-secret.sh <secret-name> [key]}
key=${2:-}

: "${VAULT_IRSA_ADDR:?not set: is this pod injected by vault-irsa (annotation vault-irsa.io/role)?}"
: "${VAULT_IRSA_TOKEN_FILE:=/var/run/vault-irsa/token}"

url="$VAULT_IRSA_ADDR/v1/secrets/$name"
if [ -n "$key" ]; then
  url="$url/$key"
fi

# The token is read from the file at each call (the sidecar writes a new one when it restarts) and handed to curl
# on stdin (-H @-), so it never shows in a process list or a log line. printf is a shell builtin: no argv either.
token=$(cat "$VAULT_IRSA_TOKEN_FILE")
printf 'Authorization: Bearer %s\n' "$token" |
  curl -fsS --retry 5 --retry-connrefused --retry-delay 1 -H @- "$url"
