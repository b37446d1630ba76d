/**
 * The names and defaults the webhook writes and the sidecar reads: pod annotations, the sidecar's env, the app
 * containers' env. One place, so neither program can rename or re-default something the other relies on.
 * docs/annotations.md and docs/configuration.md document these; test/unit/contract/docs.test.ts keeps them equal.
 */

export const ANNOTATION_PREFIX = 'vault-irsa.io/';

/** Pod annotations, by the key the webhook's plan uses. */
export const ANNOTATIONS = {
  role: `${ANNOTATION_PREFIX}role`,
  inject: `${ANNOTATION_PREFIX}inject`,
  status: `${ANNOTATION_PREFIX}status`,
  authMount: `${ANNOTATION_PREFIX}auth-mount`,
  vaultAddr: `${ANNOTATION_PREFIX}vault-addr`,
  vaultNamespace: `${ANNOTATION_PREFIX}vault-namespace`,
  iamServerId: `${ANNOTATION_PREFIX}iam-server-id-header`,
  stsRegion: `${ANNOTATION_PREFIX}sts-region`,
  awsRoleArn: `${ANNOTATION_PREFIX}aws-role-arn`,
  port: `${ANNOTATION_PREFIX}port`,
  healthPort: `${ANNOTATION_PREFIX}health-port`,
  mode: `${ANNOTATION_PREFIX}sidecar-mode`,
  refresh: `${ANNOTATION_PREFIX}refresh`,
  cpuRequest: `${ANNOTATION_PREFIX}cpu-request`,
  cpuLimit: `${ANNOTATION_PREFIX}cpu-limit`,
  memoryRequest: `${ANNOTATION_PREFIX}memory-request`,
  memoryLimit: `${ANNOTATION_PREFIX}memory-limit`,
  vaultApi: `${ANNOTATION_PREFIX}vault-api`,
} as const;
/** `vault-irsa.io/secret-<name>: <vault path>`, one per declared secret */
export const SECRET_ANNOTATION_PREFIX = `${ANNOTATION_PREFIX}secret-`;
/** the value of vault-irsa.io/status the webhook sets on a pod it injected */
export const STATUS_INJECTED = 'injected';

/** The sidecar's environment: what it reads, what the webhook writes into the injected container. */
export const SIDECAR_ENV = {
  vaultAddr: 'VAULT_ADDR',
  vaultCaCert: 'VAULT_CACERT',
  vaultNamespace: 'VAULT_NAMESPACE',
  role: 'VAULT_IRSA_ROLE',
  authMount: 'VAULT_IRSA_AUTH_MOUNT',
  iamServerId: 'VAULT_IRSA_IAM_SERVER_ID',
  stsRegion: 'VAULT_IRSA_STS_REGION',
  secrets: 'VAULT_IRSA_SECRETS',
  listen: 'VAULT_IRSA_LISTEN',
  healthListen: 'VAULT_IRSA_HEALTH_LISTEN',
  tokenFile: 'VAULT_IRSA_TOKEN_FILE',
  refresh: 'VAULT_IRSA_REFRESH',
  logLevel: 'VAULT_IRSA_LOG_LEVEL',
  vaultTimeout: 'VAULT_IRSA_VAULT_TIMEOUT',
} as const;

/** STS's global endpoint is us-east-1's, and Vault's AWS auth forwards there unless configured otherwise. */
export const DEFAULT_STS_REGION = 'us-east-1';

export const SIDECAR_DEFAULTS = {
  authMount: 'aws',
  stsRegion: DEFAULT_STS_REGION,
  port: 8765,
  healthPort: 8766,
  listen: '127.0.0.1:8765',
  healthListen: '0.0.0.0:8766',
  tokenFile: '/var/run/vault-irsa/token',
  tokenDir: '/var/run/vault-irsa',
  refresh: '5m',
  logLevel: 'info',
  /** as Vault's own client (VAULT_CLIENT_TIMEOUT) */
  vaultTimeout: '60s',
} as const;

/** AWS identity variables the sidecar understands (the SDK's own names). */
export const AWS_IDENTITY_ENV = [
  'AWS_ROLE_ARN',
  'AWS_WEB_IDENTITY_TOKEN_FILE',
  'AWS_ROLE_SESSION_NAME',
  'AWS_CONTAINER_CREDENTIALS_FULL_URI',
  'AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE',
  'AWS_REGION',
  'AWS_DEFAULT_REGION',
  'AWS_STS_REGIONAL_ENDPOINTS',
  'AWS_ENDPOINT_URL_STS',
] as const;

/** What the webhook sets in app (and ordinary init) containers: where the sidecar is, where its token is. */
export const APP_ENV = {
  addr: 'VAULT_IRSA_ADDR',
  tokenFile: 'VAULT_IRSA_TOKEN_FILE',
  vaultAddr: 'VAULT_ADDR',
} as const;

/** pino's levels; both programs take one of these for their log level. */
export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];
