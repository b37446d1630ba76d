/**
 * The webhook's configuration from its environment (CONTRACT.md §5), validated once at start so a bad
 * default stops the process with one line naming the variable instead of denying every pod later.
 */
import { SIDECAR_UID } from './inject/names.js';
import { VaultIrsaError } from '../sidecar/errors.js';
import { DEFAULT_SIDECAR_IMAGE } from '../sidecar/version.js';
import {
  checkHeaderValue, checkRegion, normalizeVaultAddr, parseDuration, parseQuantity,
} from './validate.js';

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
  constructor(readonly variable: string, message: string) {
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

/** The TLS mode `auto` settings; separate so the rest of loadWebhookConfig stays about injection. */
function loadAutoTls(get: (name: string) => string | undefined): AutoTlsConfig {
  const name = (variable: string, fallback: string, max: number): string => {
    const v = get(variable) ?? fallback;
    if (!K8S_NAME.test(v) || v.length > max) throw new ConfigError(variable, `is not a Kubernetes object name: ${JSON.stringify(v)}`);
    return v;
  };
  const duration = (variable: string, fallback: string, minMs: number): number => {
    const raw = get(variable) ?? fallback;
    const ms = parseDuration(raw);
    if (ms === null || ms < minMs) throw new ConfigError(variable, `is not a duration of at least ${minMs / 1000}s (e.g. 720h): ${JSON.stringify(raw)}`);
    return ms;
  };
  const namespace = get(ENV.namespace);
  if (namespace !== undefined && (!K8S_NAME.test(namespace) || namespace.length > 63)) {
    throw new ConfigError(ENV.namespace, `is not a namespace name: ${JSON.stringify(namespace)}`);
  }
  const validityMs = duration(ENV.tlsValidity, '8760h', 3_600_000);
  const renewBeforeMs = duration(ENV.tlsRenewBefore, '720h', 60_000);
  const overlapMs = duration(ENV.tlsOverlap, '10m', 1000);
  const intervalMs = duration(ENV.tlsAutoInterval, '30s', 100);
  if (renewBeforeMs >= validityMs) throw new ConfigError(ENV.tlsRenewBefore, `must be shorter than ${ENV.tlsValidity}`);
  // a rotation spends one overlap publishing the new CA and must finish before the old certificate expires
  if (2 * overlapMs >= renewBeforeMs) throw new ConfigError(ENV.tlsOverlap, `must be less than half of ${ENV.tlsRenewBefore}`);
  // every replica must re-read the Secret within an overlap, or it could serve a certificate no longer trusted
  if (3 * intervalMs > overlapMs) throw new ConfigError(ENV.tlsAutoInterval, `must be at most a third of ${ENV.tlsOverlap}`);
  return {
    ...(namespace !== undefined ? { namespace } : {}),
    secretName: name(ENV.tlsSecret, 'vault-irsa-tls', 253),
    serviceName: name(ENV.serviceName, 'vault-irsa', 63),
    webhookConfigurationName: name(ENV.webhookConfiguration, 'vault-irsa', 253),
    validityMs, renewBeforeMs, overlapMs, intervalMs,
  };
}

export const RESOURCE_DEFAULTS: SidecarResources = { cpuRequest: '10m', memoryRequest: '64Mi', memoryLimit: '128Mi' };

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

/** Env → config. Throws ConfigError naming the first bad variable. An empty value counts as unset. */
export function loadWebhookConfig(env: Record<string, string | undefined>): WebhookConfig {
  const get = (name: string): string | undefined => {
    const v = env[name];
    return v === undefined || v.trim() === '' ? undefined : v.trim();
  };

  const portRaw = get(ENV.port) ?? '8443';
  if (!/^[0-9]{1,5}$/.test(portRaw) || Number(portRaw) > 65535) throw new ConfigError(ENV.port, `is not a port number: ${JSON.stringify(portRaw)}`);

  const vaultAddrRaw = get(ENV.vaultAddr);
  if (vaultAddrRaw === undefined) throw new ConfigError(ENV.vaultAddr, 'is required (the default Vault address for sidecars, e.g. https://vault.example.com:8200)');
  const vaultAddr = normalizeVaultAddr(vaultAddrRaw);
  if (vaultAddr === null) throw new ConfigError(ENV.vaultAddr, `is not an http(s) URL: ${JSON.stringify(vaultAddrRaw)}`);

  const allowed = new Set<string>([vaultAddr]);
  for (const item of (get(ENV.allowedVaultAddrs) ?? '').split(',').map((s) => s.trim()).filter(Boolean)) {
    const n = normalizeVaultAddr(item);
    if (n === null) throw new ConfigError(ENV.allowedVaultAddrs, `holds an entry that is not an http(s) URL: ${JSON.stringify(item)}`);
    allowed.add(n);
  }

  const iamServerId = get(ENV.iamServerId);
  if (iamServerId !== undefined) {
    const p = checkHeaderValue(iamServerId);
    if (p) throw new ConfigError(ENV.iamServerId, p);
  }
  const stsRegion = get(ENV.stsRegion) ?? 'us-east-1';
  const regionProblem = checkRegion(stsRegion);
  if (regionProblem) throw new ConfigError(ENV.stsRegion, `${regionProblem}: ${JSON.stringify(stsRegion)}`);
  const awsRegion = get(ENV.awsRegion);
  if (awsRegion !== undefined && checkRegion(awsRegion)) throw new ConfigError(ENV.awsRegion, `is not an AWS region: ${JSON.stringify(awsRegion)}`);

  const mode = get(ENV.mode) ?? 'native';
  if (mode !== 'native' && mode !== 'classic') throw new ConfigError(ENV.mode, `must be native or classic, not ${JSON.stringify(mode)}`);
  const kubernetes = get(ENV.kubernetes) ?? 'auto';
  if (kubernetes !== 'auto' && kubernetes !== 'off') throw new ConfigError(ENV.kubernetes, `must be auto or off, not ${JSON.stringify(kubernetes)}`);

  const resources: SidecarResources = {};
  const resourceVars = [
    ['cpuRequest', ENV.cpuRequest], ['cpuLimit', ENV.cpuLimit], ['memoryRequest', ENV.memoryRequest], ['memoryLimit', ENV.memoryLimit],
  ] as const;
  for (const [field, name] of resourceVars) {
    const v = get(name) ?? RESOURCE_DEFAULTS[field];
    // `none` lets an operator drop a default (e.g. the memory limit) rather than only change it
    if (v === undefined || v === 'none') continue;
    if (parseQuantity(v) === null) throw new ConfigError(name, `is not a Kubernetes quantity (e.g. 10m, 64Mi): ${JSON.stringify(v)}`);
    resources[field] = v;
  }
  for (const [req, lim, reqVar] of [['cpuRequest', 'cpuLimit', ENV.cpuRequest], ['memoryRequest', 'memoryLimit', ENV.memoryRequest]] as const) {
    const r = resources[req];
    const l = resources[lim];
    if (r !== undefined && l !== undefined && (parseQuantity(r) ?? 0) > (parseQuantity(l) ?? 0)) {
      throw new ConfigError(reqVar, `(${r}) is larger than the limit (${l})`);
    }
  }

  const pullPolicy = get(ENV.imagePullPolicy);
  if (pullPolicy !== undefined && !['Always', 'IfNotPresent', 'Never'].includes(pullPolicy)) {
    throw new ConfigError(ENV.imagePullPolicy, `must be Always, IfNotPresent or Never, not ${JSON.stringify(pullPolicy)}`);
  }

  const stsEndpointUrl = get(ENV.stsEndpointUrl);
  if (stsEndpointUrl !== undefined && normalizeVaultAddr(stsEndpointUrl) === null) {
    throw new ConfigError(ENV.stsEndpointUrl, `is not an http(s) URL: ${JSON.stringify(stsEndpointUrl)}`);
  }

  let vaultCaConfigMap: WebhookConfig['vaultCaConfigMap'];
  const ca = get(ENV.vaultCaConfigMap);
  if (ca !== undefined) {
    const [name = '', key = 'ca.crt', ...rest] = ca.split(':');
    if (rest.length > 0 || !/^[a-z0-9]([a-z0-9.-]*[a-z0-9])?$/.test(name) || name.length > 253 || !/^[-._a-zA-Z0-9]+$/.test(key)) {
      throw new ConfigError(ENV.vaultCaConfigMap, `must be <configmap-name>[:<key>], not ${JSON.stringify(ca)}`);
    }
    vaultCaConfigMap = { name, key };
  }

  const logLevel = get(ENV.logLevel) ?? 'info';
  if (!LOG_LEVELS.includes(logLevel)) throw new ConfigError(ENV.logLevel, `must be one of ${LOG_LEVELS.join(', ')}, not ${JSON.stringify(logLevel)}`);

  const maxBodyRaw = get(ENV.maxBodyBytes) ?? String(3 * 1024 * 1024);
  if (!/^[0-9]{1,10}$/.test(maxBodyRaw) || Number(maxBodyRaw) < 1024) throw new ConfigError(ENV.maxBodyBytes, `must be a byte count of at least 1024: ${JSON.stringify(maxBodyRaw)}`);

  // room for every API server replica's connections with margin; at tens of kB each, well inside the memory limit
  const maxConnRaw = get(ENV.maxConnections) ?? '512';
  if (!/^[0-9]{1,6}$/.test(maxConnRaw) || Number(maxConnRaw) < 1 || Number(maxConnRaw) > 100_000) {
    throw new ConfigError(ENV.maxConnections, `must be a number of connections from 1 to 100000: ${JSON.stringify(maxConnRaw)}`);
  }

  const tlsPollRaw = get(ENV.tlsPoll) ?? '10s';
  const tlsPollIntervalMs = parseDuration(tlsPollRaw);
  if (tlsPollIntervalMs === null || tlsPollIntervalMs < 50) throw new ConfigError(ENV.tlsPoll, `is not a duration of at least 50ms (e.g. 10s): ${JSON.stringify(tlsPollRaw)}`);
  const kubeTimeoutRaw = get(ENV.kubeTimeout) ?? '2s';
  const kubeTimeoutMs = parseDuration(kubeTimeoutRaw);
  if (kubeTimeoutMs === null || kubeTimeoutMs < 10) throw new ConfigError(ENV.kubeTimeout, `is not a duration (e.g. 2s): ${JSON.stringify(kubeTimeoutRaw)}`);

  const listenHost = get(ENV.listenHost) ?? '0.0.0.0';

  const tlsMode = get(ENV.tlsMode) ?? 'files';
  if (tlsMode !== 'files' && tlsMode !== 'auto') throw new ConfigError(ENV.tlsMode, `must be files or auto, not ${JSON.stringify(tlsMode)}`);
  const tlsAuto = tlsMode === 'auto' ? loadAutoTls(get) : undefined;
  const uidRaw = get(ENV.sidecarUid) ?? String(SIDECAR_UID);
  // Linux IDs are 32-bit and some runtimes reject IDs past 2^31-1; 0 is root, which the sidecar never needs
  if (!/^[0-9]{1,10}$/.test(uidRaw) || Number(uidRaw) < 1 || Number(uidRaw) > 2147483647) {
    throw new ConfigError(ENV.sidecarUid, `must be a numeric UID from 1 to 2147483647 (not root): ${JSON.stringify(uidRaw)}`);
  }

  return {
    port: Number(portRaw),
    listenHost,
    tlsMode,
    ...(tlsAuto !== undefined ? { tlsAuto } : {}),
    tlsCertFile: get(ENV.tlsCert) ?? '/etc/vault-irsa/tls/tls.crt',
    tlsKeyFile: get(ENV.tlsKey) ?? '/etc/vault-irsa/tls/tls.key',
    tlsPollIntervalMs,
    sidecarImage: get(ENV.image) ?? DEFAULT_SIDECAR_IMAGE,
    sidecarUid: Number(uidRaw),
    ...(pullPolicy !== undefined ? { sidecarImagePullPolicy: pullPolicy as 'Always' | 'IfNotPresent' | 'Never' } : {}),
    vaultAddr,
    allowedVaultAddrs: [...allowed],
    ...(iamServerId !== undefined ? { iamServerId } : {}),
    stsRegion,
    sidecarMode: mode,
    kubernetes,
    resources,
    ...(awsRegion !== undefined ? { awsRegion } : {}),
    ...(stsEndpointUrl !== undefined ? { stsEndpointUrl } : {}),
    ...(vaultCaConfigMap !== undefined ? { vaultCaConfigMap } : {}),
    logLevel,
    maxBodyBytes: Number(maxBodyRaw),
    maxConnections: Number(maxConnRaw),
    kubeTimeoutMs,
  };
}
