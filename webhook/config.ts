/**
 * The webhook's configuration from its environment (docs/configuration.md), validated once at start so a bad
 * default stops the process with one line naming the variable instead of denying every pod later.
 */
import { setting } from '../sidecar/contract/settings.js';
import { DEFAULT_STS_REGION, LOG_LEVELS } from '../sidecar/contract/names.js';
import { SIDECAR_UID } from './inject/names.js';
import { VaultIrsaError } from '../sidecar/contract/errors.js';
import { DEFAULT_SIDECAR_IMAGE } from '../sidecar/version.js';
import { checkHeaderValue, checkRegion, normalizeVaultAddr, parseDuration, parseQuantity } from './validate.js';

export type SidecarMode = 'native' | 'classic';

export interface SidecarResources {
  cpuRequest?: string;
  cpuLimit?: string;
  memoryRequest?: string;
  memoryLimit?: string;
}

/**
 * TLS mode `auto`: the webhook makes and rotates its own CA and serving certificate, keeps them in a Secret
 * and publishes the CA in its MutatingWebhookConfiguration (webhook/tls-auto.ts).
 */
export interface AutoTlsConfig {
  /** namespace of the Secret and the Service; undefined: the in-cluster ServiceAccount's namespace */
  namespace?: string;
  secretName: string;
  serviceName: string;
  webhookConfigurationName: string;
  validityMs: number;
  renewBeforeMs: number;
  overlapMs: number;
  intervalMs: number;
}

export interface WebhookConfig {
  port: number;
  listenHost: string;
  /** files: tlsCertFile/tlsKeyFile, re-read on change; auto: see AutoTlsConfig */
  tlsMode: 'files' | 'auto';
  tlsAuto?: AutoTlsConfig;
  tlsCertFile: string;
  tlsKeyFile: string;
  /** fallback poll for certificate changes; file-system events trigger a re-read sooner */
  tlsPollIntervalMs: number;
  sidecarImage: string;
  /** runAsUser/runAsGroup of injected sidecars */
  sidecarUid: number;
  sidecarImagePullPolicy?: 'Always' | 'IfNotPresent' | 'Never';
  vaultAddr: string;
  /** normalized (see normalizeVaultAddr); always includes vaultAddr */
  allowedVaultAddrs: string[];
  iamServerId?: string;
  stsRegion: string;
  sidecarMode: SidecarMode;
  kubernetes: 'auto' | 'off';
  resources: SidecarResources;
  /** AWS_REGION / AWS_DEFAULT_REGION for sidecars whose IRSA identity the webhook mints */
  awsRegion?: string;
  /** AWS_ENDPOINT_URL_STS for sidecars (tests, other partitions, VPC endpoints) */
  stsEndpointUrl?: string;
  /** ConfigMap in the pod's namespace holding Vault's CA bundle; mounted into the sidecar as VAULT_CACERT */
  vaultCaConfigMap?: { name: string; key: string };
  logLevel: string;
  maxBodyBytes: number;
  /** open connections on the HTTPS port at most */
  maxConnections: number;
  /** timeout of the ServiceAccount GET made on a cache miss */
  kubeTimeoutMs: number;
}

export class ConfigError extends VaultIrsaError {
  constructor(
    readonly variable: string,
    message: string,
  ) {
    super('invalid_config', `${variable} ${message}`);
  }
}

export const ENV = {
  port: 'VAULT_IRSA_WEBHOOK_PORT',
  listenHost: 'VAULT_IRSA_WEBHOOK_LISTEN_HOST',
  tlsCert: 'VAULT_IRSA_WEBHOOK_TLS_CERT_FILE',
  tlsKey: 'VAULT_IRSA_WEBHOOK_TLS_KEY_FILE',
  tlsPoll: 'VAULT_IRSA_WEBHOOK_TLS_POLL_INTERVAL',
  image: 'VAULT_IRSA_WEBHOOK_SIDECAR_IMAGE',
  sidecarUid: 'VAULT_IRSA_WEBHOOK_SIDECAR_UID',
  imagePullPolicy: 'VAULT_IRSA_WEBHOOK_SIDECAR_IMAGE_PULL_POLICY',
  vaultAddr: 'VAULT_IRSA_WEBHOOK_VAULT_ADDR',
  allowedVaultAddrs: 'VAULT_IRSA_WEBHOOK_ALLOWED_VAULT_ADDRS',
  iamServerId: 'VAULT_IRSA_WEBHOOK_IAM_SERVER_ID',
  stsRegion: 'VAULT_IRSA_WEBHOOK_STS_REGION',
  mode: 'VAULT_IRSA_WEBHOOK_SIDECAR_MODE',
  kubernetes: 'VAULT_IRSA_WEBHOOK_KUBERNETES',
  cpuRequest: 'VAULT_IRSA_WEBHOOK_SIDECAR_CPU_REQUEST',
  cpuLimit: 'VAULT_IRSA_WEBHOOK_SIDECAR_CPU_LIMIT',
  memoryRequest: 'VAULT_IRSA_WEBHOOK_SIDECAR_MEMORY_REQUEST',
  memoryLimit: 'VAULT_IRSA_WEBHOOK_SIDECAR_MEMORY_LIMIT',
  awsRegion: 'VAULT_IRSA_WEBHOOK_AWS_REGION',
  stsEndpointUrl: 'VAULT_IRSA_WEBHOOK_AWS_ENDPOINT_URL_STS',
  vaultCaConfigMap: 'VAULT_IRSA_WEBHOOK_VAULT_CACERT_CONFIGMAP',
  logLevel: 'VAULT_IRSA_WEBHOOK_LOG_LEVEL',
  maxBodyBytes: 'VAULT_IRSA_WEBHOOK_MAX_BODY_BYTES',
  maxConnections: 'VAULT_IRSA_WEBHOOK_MAX_CONNECTIONS',
  kubeTimeout: 'VAULT_IRSA_WEBHOOK_KUBERNETES_TIMEOUT',
  tlsMode: 'VAULT_IRSA_WEBHOOK_TLS_MODE',
  namespace: 'VAULT_IRSA_WEBHOOK_NAMESPACE',
  tlsSecret: 'VAULT_IRSA_WEBHOOK_TLS_SECRET',
  serviceName: 'VAULT_IRSA_WEBHOOK_SERVICE_NAME',
  webhookConfiguration: 'VAULT_IRSA_WEBHOOK_CONFIGURATION_NAME',
  tlsValidity: 'VAULT_IRSA_WEBHOOK_TLS_VALIDITY',
  tlsRenewBefore: 'VAULT_IRSA_WEBHOOK_TLS_RENEW_BEFORE',
  tlsOverlap: 'VAULT_IRSA_WEBHOOK_TLS_OVERLAP',
  tlsAutoInterval: 'VAULT_IRSA_WEBHOOK_TLS_AUTO_INTERVAL',
} as const;

const K8S_NAME = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

/** Read by the TLS mode `auto` step (loadAutoTls) only. */
export const WEBHOOK_TLS_AUTO_SETTINGS: ReadonlyArray<{ name: string; default?: string; description: string }> = [
  { name: ENV.namespace, description: "namespace of the Secret and the Service; unset: the webhook's own" },
  { name: ENV.tlsSecret, default: 'vault-irsa-tls', description: 'Secret holding the CA and the serving certificate' },
  { name: ENV.serviceName, default: 'vault-irsa', description: "the webhook's Service (the certificate's DNS names)" },
  {
    name: ENV.webhookConfiguration,
    default: 'vault-irsa',
    description: 'MutatingWebhookConfiguration whose caBundle the webhook sets',
  },
  { name: ENV.tlsValidity, default: '8760h', description: 'certificate lifetime (at least 1h)' },
  { name: ENV.tlsRenewBefore, default: '720h', description: 'renew this long before expiry (less than the validity)' },
  {
    name: ENV.tlsOverlap,
    default: '10m',
    description: 'time both CAs are published during a rotation (less than half the renew-before)',
  },
  {
    name: ENV.tlsAutoInterval,
    default: '30s',
    description: 'how often replicas re-read the Secret (at most a third of the overlap)',
  },
];

/** A TLS auto row's default, so the table and the step cannot disagree. */
function tlsAutoDefault(name: string): string {
  const d = WEBHOOK_TLS_AUTO_SETTINGS.find((s) => s.name === name)?.default;
  if (d === undefined) throw new Error(`no default for ${name}`);
  return d;
}

/** The TLS mode `auto` settings; separate so the rest of loadWebhookConfig stays about injection. */
function loadAutoTls(get: (name: string) => string | undefined): AutoTlsConfig {
  const name = (variable: string, fallback: string, max: number): string => {
    const v = get(variable) ?? fallback;
    if (!K8S_NAME.test(v) || v.length > max)
      throw new ConfigError(variable, `is not a Kubernetes object name: ${JSON.stringify(v)}`);
    return v;
  };
  const duration = (variable: string, fallback: string, minMs: number): number => {
    const raw = get(variable) ?? fallback;
    const ms = parseDuration(raw);
    if (ms === null || ms < minMs)
      throw new ConfigError(
        variable,
        `is not a duration of at least ${minMs / 1000}s (e.g. 720h): ${JSON.stringify(raw)}`,
      );
    return ms;
  };
  const namespace = get(ENV.namespace);
  if (namespace !== undefined && (!K8S_NAME.test(namespace) || namespace.length > 63)) {
    throw new ConfigError(ENV.namespace, `is not a namespace name: ${JSON.stringify(namespace)}`);
  }
  const validityMs = duration(ENV.tlsValidity, tlsAutoDefault(ENV.tlsValidity), 3_600_000);
  const renewBeforeMs = duration(ENV.tlsRenewBefore, tlsAutoDefault(ENV.tlsRenewBefore), 60_000);
  const overlapMs = duration(ENV.tlsOverlap, tlsAutoDefault(ENV.tlsOverlap), 1000);
  const intervalMs = duration(ENV.tlsAutoInterval, tlsAutoDefault(ENV.tlsAutoInterval), 100);
  if (renewBeforeMs >= validityMs) throw new ConfigError(ENV.tlsRenewBefore, `must be shorter than ${ENV.tlsValidity}`);
  // a rotation spends one overlap publishing the new CA and must finish before the old certificate expires
  if (2 * overlapMs >= renewBeforeMs)
    throw new ConfigError(ENV.tlsOverlap, `must be less than half of ${ENV.tlsRenewBefore}`);
  // every replica must re-read the Secret within an overlap, or it could serve a certificate no longer trusted
  if (3 * intervalMs > overlapMs)
    throw new ConfigError(ENV.tlsAutoInterval, `must be at most a third of ${ENV.tlsOverlap}`);
  return {
    ...(namespace !== undefined ? { namespace } : {}),
    secretName: name(ENV.tlsSecret, tlsAutoDefault(ENV.tlsSecret), 253),
    serviceName: name(ENV.serviceName, tlsAutoDefault(ENV.serviceName), 63),
    webhookConfigurationName: name(ENV.webhookConfiguration, tlsAutoDefault(ENV.webhookConfiguration), 253),
    validityMs,
    renewBeforeMs,
    overlapMs,
    intervalMs,
  };
}

/**
 * The injected sidecar's defaults, from the bundle's measured figures (charts/vault-irsa/values.yaml gives the
 * reasoning): memory request = the working set (47 MB idle, 54 MB on Node 22, up to 67 MB reading under token
 * churn), memory limit = the 71 MB peak at 50 connections plus room for a late GC, CPU request = under 0.1m idle
 * plus ~700 reads/s at ~11-13 us each; no CPU limit, so a login or renewal is never throttled.
 */
export const RESOURCE_DEFAULTS: SidecarResources = { cpuRequest: '10m', memoryRequest: '64Mi', memoryLimit: '128Mi' };

/*
 * The table below has one row per variable (sidecar/contract/settings.ts); each parser throws a ConfigError
 * naming its variable. What spans several variables is a named step below.
 */
const q = JSON.stringify;

function durationAtLeast(name: string, minMs: number, problem: string): (t: string | undefined) => number {
  return (t) => {
    const ms = parseDuration(t ?? '');
    if (ms === null || ms < minMs) throw new ConfigError(name, `${problem}: ${q(t)}`);
    return ms;
  };
}
function oneOf<T extends string>(name: string, values: readonly T[], text: string): (t: string | undefined) => T {
  return (t) => {
    if (!(values as readonly string[]).includes(t ?? '')) throw new ConfigError(name, `must be ${text}, not ${q(t)}`);
    return t as T;
  };
}
function quantity(name: string): (t: string | undefined) => string | undefined {
  return (t) => {
    // `none` lets an operator drop a default (e.g. the memory limit) rather than only change it
    if (t === undefined || t === 'none') return undefined;
    if (parseQuantity(t) === null)
      throw new ConfigError(name, `is not a Kubernetes quantity (e.g. 10m, 64Mi): ${q(t)}`);
    return t;
  };
}
function region(name: string, describe: (problem: string) => string): (t: string | undefined) => string | undefined {
  return (t) => {
    const problem = t === undefined ? null : checkRegion(t);
    if (problem !== null) throw new ConfigError(name, `${describe(problem)}: ${q(t)}`);
    return t;
  };
}

export const WEBHOOK_SETTINGS = {
  port: setting({
    name: ENV.port,
    default: '8443',
    description: 'HTTPS port',
    parse: (t) => {
      if (!/^[0-9]{1,5}$/.test(t ?? '') || Number(t) > 65535)
        throw new ConfigError(ENV.port, `is not a port number: ${q(t)}`);
      return Number(t);
    },
  }),
  listenHost: setting({
    name: ENV.listenHost,
    default: '0.0.0.0',
    description: 'address to listen on',
    parse: (t) => t as string,
  }),
  tlsMode: setting({
    name: ENV.tlsMode,
    default: 'files',
    description: '`files` (a mounted certificate) or `auto` (the webhook makes its own)',
    parse: oneOf(ENV.tlsMode, ['files', 'auto'] as const, 'files or auto'),
  }),
  tlsCertFile: setting({
    name: ENV.tlsCert,
    default: '/etc/vault-irsa/tls/tls.crt',
    description: 'serving certificate (mode `files`), re-read on change',
    parse: (t) => t as string,
  }),
  tlsKeyFile: setting({
    name: ENV.tlsKey,
    default: '/etc/vault-irsa/tls/tls.key',
    description: 'its key',
    parse: (t) => t as string,
  }),
  tlsPollIntervalMs: setting({
    name: ENV.tlsPoll,
    default: '10s',
    description: 'fallback poll for certificate changes (at least 50ms)',
    parse: durationAtLeast(ENV.tlsPoll, 50, 'is not a duration of at least 50ms (e.g. 10s)'),
  }),
  sidecarImage: setting({
    name: ENV.image,
    default: DEFAULT_SIDECAR_IMAGE,
    description: 'the sidecar image injected',
    parse: (t) => t as string,
  }),
  sidecarUid: setting({
    name: ENV.sidecarUid,
    default: String(SIDECAR_UID),
    description: 'runAsUser/runAsGroup of the sidecar (1 to 2147483647)',
    parse: (t) => {
      // Linux IDs are 32-bit and some runtimes reject IDs past 2^31-1; 0 is root, which the sidecar never needs
      if (!/^[0-9]{1,10}$/.test(t ?? '') || Number(t) < 1 || Number(t) > 2147483647) {
        throw new ConfigError(ENV.sidecarUid, `must be a numeric UID from 1 to 2147483647 (not root): ${q(t)}`);
      }
      return Number(t);
    },
  }),
  sidecarImagePullPolicy: setting({
    name: ENV.imagePullPolicy,
    description: "imagePullPolicy of the sidecar (`Always`, `IfNotPresent`, `Never`); unset: Kubernetes' default",
    parse: (t) =>
      t === undefined
        ? undefined
        : oneOf(ENV.imagePullPolicy, ['Always', 'IfNotPresent', 'Never'] as const, 'Always, IfNotPresent or Never')(t),
  }),
  vaultAddr: setting({
    name: ENV.vaultAddr,
    description: 'the Vault address sidecars get by default; required',
    parse: (t) => {
      if (t === undefined)
        throw new ConfigError(
          ENV.vaultAddr,
          'is required (the default Vault address for sidecars, e.g. https://vault.example.com:8200)',
        );
      const addr = normalizeVaultAddr(t);
      if (addr === null) throw new ConfigError(ENV.vaultAddr, `is not an http(s) URL: ${q(t)}`);
      return addr;
    },
  }),
  allowedVaultAddrs: setting({
    name: ENV.allowedVaultAddrs,
    description: 'comma-separated further addresses a pod may pick with `vault-irsa.io/vault-addr`',
    parse: (t) =>
      (t ?? '')
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean)
        .map((item) => {
          const n = normalizeVaultAddr(item);
          if (n === null)
            throw new ConfigError(ENV.allowedVaultAddrs, `holds an entry that is not an http(s) URL: ${q(item)}`);
          return n;
        }),
  }),
  iamServerId: setting({
    name: ENV.iamServerId,
    description: 'default `X-Vault-AWS-IAM-Server-ID` header value',
    parse: (t) => {
      const p = t === undefined ? null : checkHeaderValue(t);
      if (p) throw new ConfigError(ENV.iamServerId, p);
      return t;
    },
  }),
  stsRegion: setting({
    name: ENV.stsRegion,
    default: DEFAULT_STS_REGION,
    description: 'default region the login is signed for',
    parse: (t) => region(ENV.stsRegion, (p) => p)(t) as string,
  }),
  sidecarMode: setting({
    name: ENV.mode,
    default: 'native',
    description: 'default sidecar mode: `native` or `classic`',
    parse: oneOf(ENV.mode, ['native', 'classic'] as const, 'native or classic'),
  }),
  kubernetes: setting({
    name: ENV.kubernetes,
    default: 'auto',
    description: '`auto`: read ServiceAccounts from the API server; `off`: never',
    parse: oneOf(ENV.kubernetes, ['auto', 'off'] as const, 'auto or off'),
  }),
  cpuRequest: setting({
    name: ENV.cpuRequest,
    default: RESOURCE_DEFAULTS.cpuRequest,
    description: 'sidecar CPU request (`none`: unset)',
    parse: quantity(ENV.cpuRequest),
  }),
  cpuLimit: setting({ name: ENV.cpuLimit, description: 'sidecar CPU limit', parse: quantity(ENV.cpuLimit) }),
  memoryRequest: setting({
    name: ENV.memoryRequest,
    default: RESOURCE_DEFAULTS.memoryRequest,
    description: 'sidecar memory request (`none`: unset)',
    parse: quantity(ENV.memoryRequest),
  }),
  memoryLimit: setting({
    name: ENV.memoryLimit,
    default: RESOURCE_DEFAULTS.memoryLimit,
    description: 'sidecar memory limit (`none`: unset)',
    parse: quantity(ENV.memoryLimit),
  }),
  awsRegion: setting({
    name: ENV.awsRegion,
    description: 'AWS_REGION / AWS_DEFAULT_REGION for sidecars whose IRSA identity the webhook adds',
    parse: region(ENV.awsRegion, () => 'is not an AWS region'),
  }),
  stsEndpointUrl: setting({
    name: ENV.stsEndpointUrl,
    description: 'AWS_ENDPOINT_URL_STS for sidecars (VPC endpoints, tests)',
    parse: (t) => {
      if (t !== undefined && normalizeVaultAddr(t) === null)
        throw new ConfigError(ENV.stsEndpointUrl, `is not an http(s) URL: ${q(t)}`);
      return t;
    },
  }),
  vaultCaConfigMap: setting({
    name: ENV.vaultCaConfigMap,
    description:
      "`<configmap>[:<key>]` in the pod's namespace holding Vault's CA, mounted into the sidecar (key default `ca.crt`)",
    parse: (t): WebhookConfig['vaultCaConfigMap'] => {
      if (t === undefined) return undefined;
      const [name = '', key = 'ca.crt', ...rest] = t.split(':');
      if (
        rest.length > 0 ||
        !/^[a-z0-9]([a-z0-9.-]*[a-z0-9])?$/.test(name) ||
        name.length > 253 ||
        !/^[-._a-zA-Z0-9]+$/.test(key)
      ) {
        throw new ConfigError(ENV.vaultCaConfigMap, `must be <configmap-name>[:<key>], not ${q(t)}`);
      }
      return { name, key };
    },
  }),
  logLevel: setting({
    name: ENV.logLevel,
    default: 'info',
    description: `log level: ${LOG_LEVELS.join(', ')}`,
    parse: (t) => {
      if (!(LOG_LEVELS as readonly string[]).includes(t ?? ''))
        throw new ConfigError(ENV.logLevel, `must be one of ${LOG_LEVELS.join(', ')}, not ${q(t)}`);
      return t as string;
    },
  }),
  maxBodyBytes: setting({
    name: ENV.maxBodyBytes,
    default: String(3 * 1024 * 1024),
    description: 'largest AdmissionReview accepted, in bytes (at least 1024)',
    parse: (t) => {
      if (!/^[0-9]{1,10}$/.test(t ?? '') || Number(t) < 1024)
        throw new ConfigError(ENV.maxBodyBytes, `must be a byte count of at least 1024: ${q(t)}`);
      return Number(t);
    },
  }),
  // room for every API server replica's connections with margin; at tens of kB each, well inside the memory limit
  maxConnections: setting({
    name: ENV.maxConnections,
    default: '512',
    description: 'open connections on the HTTPS port at most (1 to 100000)',
    parse: (t) => {
      if (!/^[0-9]{1,6}$/.test(t ?? '') || Number(t) < 1 || Number(t) > 100_000) {
        throw new ConfigError(ENV.maxConnections, `must be a number of connections from 1 to 100000: ${q(t)}`);
      }
      return Number(t);
    },
  }),
  kubeTimeoutMs: setting({
    name: ENV.kubeTimeout,
    default: '2s',
    description: 'timeout of the ServiceAccount read on a cache miss',
    parse: durationAtLeast(ENV.kubeTimeout, 10, 'is not a duration (e.g. 2s)'),
  }),
} as const;

type Parsed = { [K in keyof typeof WEBHOOK_SETTINGS]: ReturnType<(typeof WEBHOOK_SETTINGS)[K]['parse']> };

/** Step: every row of the table, in order. */
function parseSettings(get: (name: string) => string | undefined): Parsed {
  const out: Record<string, unknown> = {};
  for (const [key, s] of Object.entries(WEBHOOK_SETTINGS)) {
    out[key] = (s.parse as (t: string | undefined) => unknown)(get(s.name) ?? ('default' in s ? s.default : undefined));
  }
  return out as Parsed;
}

/** Step: a request above its limit is a mistake in the defaults, reported at start. */
function checkResourcePairs(resources: SidecarResources): void {
  for (const [req, lim, reqVar] of [
    ['cpuRequest', 'cpuLimit', ENV.cpuRequest],
    ['memoryRequest', 'memoryLimit', ENV.memoryRequest],
  ] as const) {
    const r = resources[req];
    const l = resources[lim];
    if (r !== undefined && l !== undefined && (parseQuantity(r) ?? 0) > (parseQuantity(l) ?? 0)) {
      throw new ConfigError(reqVar, `(${r}) is larger than the limit (${l})`);
    }
  }
}

/** Env → config. Throws ConfigError naming the first bad variable. An empty value counts as unset. */
export function loadWebhookConfig(env: Record<string, string | undefined>): WebhookConfig {
  const get = (name: string): string | undefined => {
    const v = env[name];
    return v === undefined || v.trim() === '' ? undefined : v.trim();
  };
  const p = parseSettings(get);
  const resources: SidecarResources = {};
  for (const field of ['cpuRequest', 'cpuLimit', 'memoryRequest', 'memoryLimit'] as const) {
    const v = p[field];
    if (v !== undefined) resources[field] = v;
  }
  checkResourcePairs(resources);
  const tlsAuto = p.tlsMode === 'auto' ? loadAutoTls(get) : undefined;
  return {
    port: p.port,
    listenHost: p.listenHost,
    tlsMode: p.tlsMode,
    ...(tlsAuto !== undefined ? { tlsAuto } : {}),
    tlsCertFile: p.tlsCertFile,
    tlsKeyFile: p.tlsKeyFile,
    tlsPollIntervalMs: p.tlsPollIntervalMs,
    sidecarImage: p.sidecarImage,
    sidecarUid: p.sidecarUid,
    ...(p.sidecarImagePullPolicy !== undefined ? { sidecarImagePullPolicy: p.sidecarImagePullPolicy } : {}),
    vaultAddr: p.vaultAddr,
    allowedVaultAddrs: [...new Set([p.vaultAddr, ...p.allowedVaultAddrs])],
    ...(p.iamServerId !== undefined ? { iamServerId: p.iamServerId } : {}),
    stsRegion: p.stsRegion,
    sidecarMode: p.sidecarMode,
    kubernetes: p.kubernetes,
    resources,
    ...(p.awsRegion !== undefined ? { awsRegion: p.awsRegion } : {}),
    ...(p.stsEndpointUrl !== undefined ? { stsEndpointUrl: p.stsEndpointUrl } : {}),
    ...(p.vaultCaConfigMap !== undefined ? { vaultCaConfigMap: p.vaultCaConfigMap } : {}),
    logLevel: p.logLevel,
    maxBodyBytes: p.maxBodyBytes,
    maxConnections: p.maxConnections,
    kubeTimeoutMs: p.kubeTimeoutMs,
  };
}
