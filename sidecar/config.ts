import { setting } from './contract/settings.js';
import {
  checkAuthMount,
  checkHeaderValue,
  checkRegion,
  checkVaultNamespace,
  checkVaultPathSyntax,
  checkVaultRole,
  isDnsLabel,
  isIamRoleArn,
  parseVaultAddr,
  REFRESH_MAX_MS,
  REFRESH_MIN_MS,
  RESERVED_VAULT_PREFIXES,
  reservedMount,
} from './contract/grammars.js';
import { checkAwsEnv } from './contract/aws-env.js';
import { AWS_IDENTITY_ENV, LOG_LEVELS, SIDECAR_DEFAULTS, SIDECAR_ENV, type LogLevel } from './contract/names.js';
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
      throw new ConfigError(
        variable,
        `secret name "${name}" is not a DNS label (lowercase letters, digits, "-", at most 63)`,
      );
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
          "answer about Vault and the sidecar's own token, not secrets for the app)",
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
    const sessionName = read(env, 'AWS_ROLE_SESSION_NAME');
    return { kind: 'web-identity', roleArn, tokenFile, ...(sessionName ? { sessionName } : {}) };
  }
  const fullUri = read(env, 'AWS_CONTAINER_CREDENTIALS_FULL_URI');
  if (fullUri !== undefined) {
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

const E = SIDECAR_ENV;
const D = SIDECAR_DEFAULTS;

function optional(
  name: string,
  check: (v: string) => string | null,
  quoted = true,
): (t: string | undefined) => string | undefined {
  return (t) => {
    if (t === undefined) return undefined;
    const problem = check(t);
    if (problem !== null) throw new ConfigError(name, quoted ? `"${t}" ${problem}` : problem);
    return t;
  };
}

export const SIDECAR_SETTINGS = {
  vaultAddr: setting({
    name: E.vaultAddr,
    description: 'Vault address (`https://vault.example.com:8200`); required',
    parse: parseVaultAddrEnv,
  }),
  vaultCaCert: setting({
    name: E.vaultCaCert,
    description: "PEM file of the CA(s) that sign Vault's certificate",
    parse: (t) => t,
  }),
  vaultNamespace: setting({
    name: E.vaultNamespace,
    description: 'Vault Enterprise / OpenBao namespace',
    parse: optional(E.vaultNamespace, checkVaultNamespace),
  }),
  role: setting({
    name: E.role,
    description: 'the Vault role to log in as; required',
    parse: (t) => {
      if (t === undefined) throw new ConfigError(E.role, 'is required (the Vault role to log in as)');
      return optional(E.role, checkVaultRole)(t) as string;
    },
  }),
  authMount: setting({
    name: E.authMount,
    default: D.authMount,
    description: "mount path of Vault's AWS auth method",
    parse: parseMount,
  }),
  iamServerId: setting({
    name: E.iamServerId,
    description: 'value of the `X-Vault-AWS-IAM-Server-ID` header signed into the login',
    parse: optional(E.iamServerId, checkHeaderValue, false),
  }),
  stsRegion: setting({
    name: E.stsRegion,
    default: D.stsRegion,
    description: "region the login is signed for (`us-east-1`: STS's global endpoint)",
    parse: (t) => {
      const region = t ?? D.stsRegion;
      if (checkRegion(region) !== null)
        throw new ConfigError(E.stsRegion, `"${region}" is not an AWS region (e.g. us-east-1)`);
      return region;
    },
  }),
  secrets: setting({
    name: E.secrets,
    default: '{}',
    description: 'the declared secrets, `{"<name>": "<vault path>"}`',
    parse: parseSecrets,
  }),
  listen: setting({
    name: E.listen,
    default: D.listen,
    description: 'address of the localhost API',
    parse: (t) => parseListen(E.listen, t ?? D.listen),
  }),
  healthListen: setting({
    name: E.healthListen,
    default: D.healthListen,
    description: 'address of /healthz, /readyz and /metrics',
    parse: (t) => parseListen(E.healthListen, t ?? D.healthListen),
  }),
  tokenFile: setting({
    name: E.tokenFile,
    default: D.tokenFile,
    description: 'where the sidecar writes the request token the app presents',
    parse: (t) => {
      const file = t ?? D.tokenFile;
      if (!file.startsWith('/')) throw new ConfigError(E.tokenFile, `"${file}" must be an absolute path`);
      return file;
    },
  }),
  refreshMs: setting({
    name: E.refresh,
    default: D.refresh,
    description: 'how often static secrets are read again (1s to 168h)',
    parse: (t) => durationFromEnv(E.refresh, t ?? D.refresh, REFRESH_MIN_MS, REFRESH_MAX_MS),
  }),
  logLevel: setting({
    name: E.logLevel,
    default: D.logLevel,
    description: `log level: ${LOG_LEVELS.join(', ')}`,
    parse: (t): LogLevel => {
      const level = (t ?? D.logLevel).toLowerCase();
      if (!(LOG_LEVELS as readonly string[]).includes(level))
        throw new ConfigError(E.logLevel, `"${level}" is not one of ${LOG_LEVELS.join(', ')}`);
      return level as LogLevel;
    },
  }),
  vaultTimeoutMs: setting({
    name: E.vaultTimeout,
    default: D.vaultTimeout,
    description: 'how long one call to Vault may take, a redirect included (1s to 10m)',
    parse: (t) => durationFromEnv(E.vaultTimeout, t ?? D.vaultTimeout, 1000, 10 * 60_000),
  }),
} as const;

/** The AWS SDK's own variables, read by the identity step (parseIdentity) and the STS client. */
export const SIDECAR_AWS_SETTINGS: ReadonlyArray<{
  name: (typeof AWS_IDENTITY_ENV)[number];
  default?: string;
  description: string;
}> = [
  {
    name: 'AWS_ROLE_ARN',
    description: 'IRSA: the IAM role to assume (`arn:<partition>:iam::<account>:role/<path/>name`)',
  },
  { name: 'AWS_WEB_IDENTITY_TOKEN_FILE', description: 'IRSA: the projected ServiceAccount token' },
  { name: 'AWS_ROLE_SESSION_NAME', description: 'IRSA: the session name (2-64 of `[\\w+=,.@-]`)' },
  { name: 'AWS_CONTAINER_CREDENTIALS_FULL_URI', description: "EKS Pod Identity: the agent's credentials URL" },
  { name: 'AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE', description: 'EKS Pod Identity: the token presented to the agent' },
  { name: 'AWS_REGION', default: `${E.stsRegion}`, description: 'region of the STS client that assumes the role' },
  { name: 'AWS_DEFAULT_REGION', description: 'as AWS_REGION, when that is unset' },
  { name: 'AWS_STS_REGIONAL_ENDPOINTS', description: 'ignored: STS is always called at its regional endpoint' },
  {
    name: 'AWS_ENDPOINT_URL_STS',
    description: 'the STS endpoint for AssumeRoleWithWebIdentity (tests, VPC endpoints)',
  },
];

type Parsed = { [K in keyof typeof SIDECAR_SETTINGS]: ReturnType<(typeof SIDECAR_SETTINGS)[K]['parse']> };

/** Step: every row of the table. */
function parseSettings(env: Env): Parsed {
  const out: Record<string, unknown> = {};
  for (const [key, s] of Object.entries(SIDECAR_SETTINGS))
    out[key] = (s.parse as (t: string | undefined) => unknown)(read(env, s.name));
  return out as Parsed;
}

/**
 * Step: the AWS SDK's variables, by the contract's check (the webhook runs the same one on what it copies from
 * an app container), then the region of the STS client that runs AssumeRoleWithWebIdentity.
 */
function parseAwsClient(env: Env, stsRegion: string): string {
  const problem = checkAwsEnv((name) => read(env, name), stsRegion);
  if (problem !== null)
    throw new ConfigError(problem.name, `"${read(env, problem.name) ?? stsRegion}" ${problem.problem}`);
  return read(env, 'AWS_REGION') ?? read(env, 'AWS_DEFAULT_REGION') ?? stsRegion;
}

/** env → config; throws a ConfigError naming the first missing or malformed variable. Pure. */
export function parseConfig(env: Env): SidecarConfig {
  const p = parseSettings(env);
  const aws = parseIdentity(env);
  const awsRegion = parseAwsClient(env, p.stsRegion);
  return {
    vaultAddr: p.vaultAddr,
    ...(p.vaultCaCert ? { vaultCaCert: p.vaultCaCert } : {}),
    ...(p.vaultNamespace ? { vaultNamespace: p.vaultNamespace } : {}),
    role: p.role,
    authMount: p.authMount,
    ...(p.iamServerId ? { iamServerId: p.iamServerId } : {}),
    stsRegion: p.stsRegion,
    secrets: p.secrets,
    listen: p.listen,
    healthListen: p.healthListen,
    tokenFile: p.tokenFile,
    refreshMs: p.refreshMs,
    logLevel: p.logLevel,
    aws,
    awsRegion,
    vaultTimeoutMs: p.vaultTimeoutMs,
  };
}
