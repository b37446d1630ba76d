/**
 * The sidecar's environment (CONTRACT.md §4): the one list both the sidecar (which reads it) and the
 * webhook (which writes it into the injected container) use, so the two cannot drift apart.
 */
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

export const SIDECAR_DEFAULTS = {
  authMount: 'aws',
  stsRegion: 'us-east-1',
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
