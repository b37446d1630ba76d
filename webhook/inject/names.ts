/** Names and paths the injected pod uses; documented in docs/pod.md or chosen to match the EKS pod identity webhook. */
import { SIDECAR_DEFAULTS } from '../../sidecar/contract/names.js';

export const SIDECAR_CONTAINER = 'vault-irsa';
export const SIDECAR_VOLUME = 'vault-irsa';
export const SIDECAR_MOUNT_PATH = SIDECAR_DEFAULTS.tokenDir;
export const SIDECAR_COMMAND = 'vault-irsa-sidecar';
/** a named port so a PodMonitor can scrape /metrics; port names are at most 15 characters */
export const HEALTH_PORT_NAME = 'vault-irsa';
/** set on every injected pod (value "true"): what the chart's PodMonitor selects to scrape the sidecars */
export const INJECTED_LABEL = 'vault-irsa.io/injected';
/**
 * The sidecar's default UID and GID (VAULT_IRSA_WEBHOOK_SIDECAR_UID changes it). Deliberately one that app images
 * do not use: with spec.shareProcessNamespace, a process of another container running as the same UID can read
 * the sidecar's files and environment through /proc. The usual ones are taken: 0 (root), 1-999 (system
 * accounts, e.g. 101 nginx, 999 many database images), 1000-1001 (first login user, node and bitnami images),
 * 1337 (Istio's proxy), 10000/10001 (common in Dockerfiles), 65532 (distroless "nonroot", which this sidecar
 * used before) and 65534 (nobody). 61743 is none of these, below 65534 for runtimes and file systems that
 * assume 16-bit IDs, and unassigned in Debian's and Alpine's base images.
 */
export const SIDECAR_UID = 61743;

/** as amazon-eks-pod-identity-webhook pkg/handler: volume aws-iam-token, file token, this mount path */
export const IRSA_VOLUME = 'aws-iam-token';
export const IRSA_MOUNT_PATH = '/var/run/secrets/eks.amazonaws.com/serviceaccount';
export const IRSA_TOKEN_FILE = `${IRSA_MOUNT_PATH}/token`;
export const IRSA_DEFAULT_AUDIENCE = 'sts.amazonaws.com';
export const IRSA_DEFAULT_EXPIRATION = 86400;
/** the EKS webhook's floor for eks.amazonaws.com/token-expiration */
export const IRSA_MIN_EXPIRATION = 600;

export const EKS_ANNOTATIONS = {
  roleArn: 'eks.amazonaws.com/role-arn',
  audience: 'eks.amazonaws.com/audience',
  tokenExpiration: 'eks.amazonaws.com/token-expiration',
  stsRegionalEndpoints: 'eks.amazonaws.com/sts-regional-endpoints',
} as const;

export const CA_VOLUME = 'vault-irsa-ca';
export const CA_MOUNT_PATH = '/etc/vault-irsa/ca';
export const CA_FILE = `${CA_MOUNT_PATH}/ca.crt`;
