/** Names and paths the injected pod uses; fixed by CONTRACT.md §2 or chosen to match the EKS pod identity webhook. */
import { SIDECAR_DEFAULTS } from '../../sidecar/env-names.js';

export const SIDECAR_CONTAINER = 'vault-irsa';
export const SIDECAR_VOLUME = 'vault-irsa';
export const SIDECAR_MOUNT_PATH = SIDECAR_DEFAULTS.tokenDir;
export const SIDECAR_COMMAND = 'vault-irsa-sidecar';
/** a named port so a PodMonitor can scrape /metrics; port names are at most 15 characters */
export const HEALTH_PORT_NAME = 'vault-irsa';
/** set on every injected pod (value "true"): what the chart's PodMonitor selects to scrape the sidecars */
export const INJECTED_LABEL = 'vault-irsa.io/injected';
/** non-root user of the distroless "nonroot" convention */
export const SIDECAR_UID = 65532;

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
