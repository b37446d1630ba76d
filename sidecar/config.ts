import {
  checkAuthMount, checkHeaderValue, checkRegion, checkRoleArn, checkVaultNamespace, checkVaultPathSyntax, checkVaultRole,
  isDnsLabel, isIamRoleArn, parseVaultAddr, REFRESH_MAX_MS, REFRESH_MIN_MS, RESERVED_VAULT_PREFIXES, reservedMount,
} from './contract/grammars.js';
import { LOG_LEVELS, SIDECAR_DEFAULTS, SIDECAR_ENV, type LogLevel } from './contract/names.js';
import { durationFromEnv } from './duration.js';
import { ConfigError } from './errors.js';

export interface ListenAddress {
  host: string;
  port: number;
}

export interface DeclaredSecret {
  name: string;
  path: string;
}

/** The pod identity the sidecar found in its env; never the node's instance role. */
export type AwsIdentity =
  | { kind: 'web-identity'; roleArn: string; tokenFile: string; sessionName?: string }
  | { kind: 'pod-identity'; fullUri: string; authorizationTokenFile?: string };

export interface SidecarConfig {
  vaultAddr: string;
  vaultCaCert?: string;
  vaultNamespace?: string;
  role: string;
  authMount: string;
  iamServerId?: string;
  stsRegion: string;
  secrets: DeclaredSecret[];
  listen: ListenAddress;
  healthListen: ListenAddress;
  tokenFile: string;
  refreshMs: number;
  logLevel: LogLevel;
  aws: AwsIdentity;
  /** region for the STS client that runs AssumeRoleWithWebIdentity */
  awsRegion: string;
  /** per call to Vault, a redirect included (VAULT_IRSA_VAULT_TIMEOUT) */
  vaultTimeoutMs: number;
}

export { LOG_LEVELS, type LogLevel };

type Env = Readonly<Record<string, string | undefined>>;

/** The IAM role ARN grammar is the contract's, so a role the webhook admits never stops the sidecar. */
export { isIamRoleArn };

/**
 * Mounts whose paths answer about Vault or the caller itself (auth/token/lookup-self returns the sidecar's own
 * token as data.id; cubbyhole is the token's private storage): never a secret for the app.
 */
export const REFUSED_MOUNTS = RESERVED_VAULT_PREFIXES;

/** The refused mount a normalised path is under, compared without case (Vault's routing is not the guard). */
export function refusedMount(path: string): string | undefined {
  return reservedMount(path);
}

function read(env: Env, name: string): string | undefined {
  const v = env[name];
  if (v === undefined) return undefined;
  const t = v.trim();
  return t === '' ? undefined : t;
}

export function parseListen(variable: string, text: string): ListenAddress {
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:[\]]*)):(\d{1,5})$/.exec(text);
  if (!m) throw new ConfigError(variable, `"${text}" is not host:port (e.g. 127.0.0.1:8765)`);
  const host = m[1] ?? (m[2] === '' ? '0.0.0.0' : m[2]);
  const port = Number(m[3]);
  if (!host || port > 65535) throw new ConfigError(variable, `"${text}" is not host:port (e.g. 127.0.0.1:8765)`);
  if (!/^(?:localhost|[\d.]+|[0-9a-fA-F:.]+)$/.test(host)) {
    throw new ConfigError(variable, `"${text}": host must be an IP address`);
  }
  return { host, port };
}

/**
 * `secret/my-app` as a user writes it, normalised without leading/trailing slashes, then held to the
 * contract's Vault path grammar (the one the webhook applies to vault-irsa.io/secret-* annotations).
 */
export function validateSecretPath(path: string): string {
  const p = path.trim().replace(/^\/+|\/+$/g, '');
  if (p === '') throw new Error('empty path');
  const problem = checkVaultPathSyntax(p);
  if (problem !== null) throw new Error(`"${path}" ${problem}`);
  return p;
}

function parseSecrets(text: string | undefined): DeclaredSecret[] {
  const variable = SIDECAR_ENV.secrets;
  if (text === undefined) return [];
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new ConfigError(variable, 'is not valid JSON (expected {"<name>": "<path>", ...})');
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new ConfigError(variable, 'must be a JSON object {"<name>": "<path>", ...}');
  }
  const out: DeclaredSecret[] = [];
  for (const [name, path] of Object.entries(parsed as Record<string, unknown>)) {
    if (!isDnsLabel(name)) {
      throw new ConfigError(variable, `secret name "${name}" is not a DNS label (lowercase letters, digits, "-", at most 63)`);
    }
    if (typeof path !== 'string') throw new ConfigError(variable, `secret "${name}": path must be a string`);
    let normalised: string;
    try {
      normalised = validateSecretPath(path);
    } catch (e) {
      throw new ConfigError(variable, `secret "${name}": ${(e as Error).message}`);
    }
    const refused = refusedMount(normalised);
    if (refused !== undefined) {
      throw new ConfigError(
        variable,
        `secret "${name}": path "${path}" is under "${refused}", which the sidecar never reads (${REFUSED_MOUNTS.map((m) => `${m}/`).join(', ')} ` +
          'answer about Vault and the sidecar\'s own token, not secrets for the app)',
      );
    }
    out.push({ name, path: normalised });
  }
  return out;
}

function parseVaultAddrEnv(text: string | undefined): string {
  const variable = SIDECAR_ENV.vaultAddr;
  if (text === undefined) throw new ConfigError(variable, 'is required (e.g. https://vault.example.com:8200)');
  const r = parseVaultAddr(text);
  if ('addr' in r) return r.addr;
  if (r.problem === 'not-a-url') throw new ConfigError(variable, `"${text}" is not a URL`);
  if (r.problem === 'not-http') throw new ConfigError(variable, `"${text}" must be http:// or https://`);
  throw new ConfigError(variable, 'must not carry credentials, a query or a fragment');
}

function parseMount(text: string | undefined): string {
  const variable = SIDECAR_ENV.authMount;
  if (text === undefined) return SIDECAR_DEFAULTS.authMount;
  const mount = text.replace(/^\/+|\/+$/g, '');
  const problem = checkAuthMount(mount);
  if (problem !== null) throw new ConfigError(variable, `"${text}" ${problem}`);
  return mount;
}

function parseIdentity(env: Env): AwsIdentity {
  const roleArn = read(env, 'AWS_ROLE_ARN');
  const tokenFile = read(env, 'AWS_WEB_IDENTITY_TOKEN_FILE');
  if (roleArn !== undefined || tokenFile !== undefined) {
    if (roleArn === undefined) throw new ConfigError('AWS_ROLE_ARN', 'is required with AWS_WEB_IDENTITY_TOKEN_FILE');
    if (tokenFile === undefined) throw new ConfigError('AWS_WEB_IDENTITY_TOKEN_FILE', 'is required with AWS_ROLE_ARN');
    if (checkRoleArn(roleArn) !== null) {
      throw new ConfigError(
        'AWS_ROLE_ARN',
        `"${roleArn}" is not an IAM role ARN (arn:aws:iam::<account>:role/<path/>name, path up to 512 characters, name up to 64)`,
      );
    }
    const sessionName = read(env, 'AWS_ROLE_SESSION_NAME');
    if (sessionName !== undefined && !/^[\w+=,.@-]{2,64}$/.test(sessionName)) {
      throw new ConfigError('AWS_ROLE_SESSION_NAME', `"${sessionName}" is not a valid session name`);
    }
    return { kind: 'web-identity', roleArn, tokenFile, ...(sessionName ? { sessionName } : {}) };
  }
  const fullUri = read(env, 'AWS_CONTAINER_CREDENTIALS_FULL_URI');
  if (fullUri !== undefined) {
    try {
      new URL(fullUri);
    } catch {
      throw new ConfigError('AWS_CONTAINER_CREDENTIALS_FULL_URI', `"${fullUri}" is not a URL`);
    }
    const authorizationTokenFile = read(env, 'AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE');
    return { kind: 'pod-identity', fullUri, ...(authorizationTokenFile ? { authorizationTokenFile } : {}) };
  }
  throw new ConfigError(
    'AWS_WEB_IDENTITY_TOKEN_FILE',
    'no AWS pod identity found: looked for AWS_ROLE_ARN + AWS_WEB_IDENTITY_TOKEN_FILE (IRSA) and ' +
      'AWS_CONTAINER_CREDENTIALS_FULL_URI + AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE (EKS Pod Identity); ' +
      'the sidecar never uses the node instance role',
  );
}

/** env → config; throws a ConfigError naming the first missing or malformed variable. Pure. */
export function parseConfig(env: Env): SidecarConfig {
  const E = SIDECAR_ENV;
  const vaultAddr = parseVaultAddrEnv(read(env, E.vaultAddr));
  const role = read(env, E.role);
  if (role === undefined) throw new ConfigError(E.role, 'is required (the Vault role to log in as)');
  const roleProblem = checkVaultRole(role);
  if (roleProblem !== null) throw new ConfigError(E.role, `"${role}" ${roleProblem}`);
  const authMount = parseMount(read(env, E.authMount));

  const iamServerId = read(env, E.iamServerId);
  const headerProblem = iamServerId === undefined ? null : checkHeaderValue(iamServerId);
  if (headerProblem !== null) throw new ConfigError(E.iamServerId, headerProblem);
  const stsRegion = read(env, E.stsRegion) ?? SIDECAR_DEFAULTS.stsRegion;
  if (checkRegion(stsRegion) !== null) throw new ConfigError(E.stsRegion, `"${stsRegion}" is not an AWS region (e.g. us-east-1)`);

  const secrets = parseSecrets(read(env, E.secrets));
  const listen = parseListen(E.listen, read(env, E.listen) ?? SIDECAR_DEFAULTS.listen);
  const healthListen = parseListen(E.healthListen, read(env, E.healthListen) ?? SIDECAR_DEFAULTS.healthListen);
  const tokenFile = read(env, E.tokenFile) ?? SIDECAR_DEFAULTS.tokenFile;
  if (!tokenFile.startsWith('/')) throw new ConfigError(E.tokenFile, `"${tokenFile}" must be an absolute path`);
  const refreshMs = durationFromEnv(E.refresh, read(env, E.refresh) ?? SIDECAR_DEFAULTS.refresh, REFRESH_MIN_MS, REFRESH_MAX_MS);
  const vaultTimeoutMs = durationFromEnv(E.vaultTimeout, read(env, E.vaultTimeout) ?? SIDECAR_DEFAULTS.vaultTimeout, 1000, 10 * 60_000);
  const logLevel = (read(env, E.logLevel) ?? SIDECAR_DEFAULTS.logLevel).toLowerCase();
  if (!(LOG_LEVELS as readonly string[]).includes(logLevel)) {
    throw new ConfigError(E.logLevel, `"${logLevel}" is not one of ${LOG_LEVELS.join(', ')}`);
  }
  const vaultNamespace = read(env, E.vaultNamespace);
  const nsProblem = vaultNamespace === undefined ? null : checkVaultNamespace(vaultNamespace);
  if (nsProblem !== null) throw new ConfigError(E.vaultNamespace, `"${vaultNamespace}" ${nsProblem}`);
  const vaultCaCert = read(env, E.vaultCaCert);
  const aws = parseIdentity(env);

  const awsRegion = read(env, 'AWS_REGION') ?? read(env, 'AWS_DEFAULT_REGION') ?? stsRegion;
  if (checkRegion(awsRegion) !== null) throw new ConfigError('AWS_REGION', `"${awsRegion}" is not an AWS region`);
  const stsUrl = read(env, 'AWS_ENDPOINT_URL_STS');
  if (stsUrl !== undefined) {
    try {
      new URL(stsUrl);
    } catch {
      throw new ConfigError('AWS_ENDPOINT_URL_STS', `"${stsUrl}" is not a URL`);
    }
  }

  return {
    vaultAddr,
    ...(vaultCaCert ? { vaultCaCert } : {}),
    ...(vaultNamespace ? { vaultNamespace } : {}),
    role,
    authMount,
    ...(iamServerId ? { iamServerId } : {}),
    stsRegion,
    secrets,
    listen,
    healthListen,
    tokenFile,
    refreshMs,
    logLevel: logLevel as LogLevel,
    aws,
    awsRegion,
    vaultTimeoutMs,
  };
}
