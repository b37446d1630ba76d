/**
 * Pod annotations + the webhook's defaults → an injection plan, or every problem found (docs/annotations.md).
 * Pure: no I/O, no clock. Each problem names the full annotation key and quotes the bad value, because
 * the pod author reads them in `kubectl` output and needs to know which line of YAML to fix.
 */
import type { WebhookConfig } from './config.js';
import type { InjectionPlan } from './plan.js';
import {
  ANNOTATION_PREFIX,
  ANNOTATIONS,
  SECRET_ANNOTATION_PREFIX,
  SIDECAR_DEFAULTS,
  STATUS_INJECTED,
} from '../sidecar/contract/names.js';
import {
  checkAuthMount,
  checkHeaderValue,
  checkPort,
  checkRefresh,
  checkRegion,
  checkRoleArn,
  checkVaultNamespace,
  checkVaultPath,
  checkVaultRole,
  isDnsLabel,
  normalizeVaultAddr,
  parseQuantity,
  quote,
} from './validate.js';

export const PREFIX = ANNOTATION_PREFIX;
export const A = ANNOTATIONS;
export const SECRET_PREFIX = SECRET_ANNOTATION_PREFIX;
export { STATUS_INJECTED };

const KNOWN = new Set<string>(Object.values(A));

export type PlanDefaults = Pick<
  WebhookConfig,
  | 'vaultAddr'
  | 'allowedVaultAddrs'
  | 'iamServerId'
  | 'stsRegion'
  | 'sidecarMode'
  | 'resources'
  | 'sidecarImage'
  | 'sidecarUid'
  | 'sidecarImagePullPolicy'
  | 'vaultCaConfigMap'
  | 'awsRegion'
  | 'stsEndpointUrl'
>;

/** A port some app or init container declares; the sidecar must not take it. */
export interface DeclaredPort {
  port: number;
  container: string;
}

export type PlanResult =
  | { action: 'skip'; reason: string; warnings: string[] }
  | { action: 'deny'; problems: string[] }
  | { action: 'inject'; plan: InjectionPlan };

/** What every step reads the annotations through: a problem list, and readers that report into it. */
interface Reader {
  all: Record<string, unknown>;
  problems: string[];
  /** the annotations already reported, so later checks ask by key, not by reading the problem text */
  reported: ReadonlySet<string>;
  bad: (key: string, value: unknown, what: string) => void;
  /** the annotation's string value; a non-string is reported (only reachable with hand-made reviews) */
  str: (key: string) => string | undefined;
  /** str, then a contract grammar; a problem is reported and gives undefined */
  checked: (key: string, check: (v: string) => string | null) => string | undefined;
}

function reader(all: Record<string, unknown>): Reader {
  const problems: string[] = [];
  const reported = new Set<string>();
  const bad = (key: string, value: unknown, what: string): void => {
    reported.add(key);
    problems.push(`${key}: ${quote(value)} ${what}`);
  };
  const str = (key: string): string | undefined => {
    const v = all[key];
    if (v === undefined) return undefined;
    if (typeof v !== 'string') {
      bad(key, v, 'is not a string');
      return undefined;
    }
    return v;
  };
  const checked = (key: string, check: (v: string) => string | null): string | undefined => {
    const v = str(key);
    if (v === undefined) return undefined;
    const p = check(v);
    if (p) {
      bad(key, v, p);
      return undefined;
    }
    return v;
  };
  return { all, problems, reported, bad, str, checked };
}

/** Step: pods the webhook leaves alone (already injected, opted out, no role). */
function skipReason(all: Record<string, unknown>, ours: Array<[string, unknown]>): PlanResult | undefined {
  if (all[A.status] === STATUS_INJECTED)
    return { action: 'skip', reason: `already injected (${A.status}: ${STATUS_INJECTED})`, warnings: [] };
  if (all[A.inject] === 'false') return { action: 'skip', reason: `opted out (${A.inject}: "false")`, warnings: [] };
  if (!(A.role in all)) {
    const stray = ours.filter(([k]) => k !== A.status && k !== A.inject).map(([k]) => k);
    const warnings =
      stray.length > 0
        ? [
            `vault-irsa: pod has ${stray.slice(0, 3).join(', ')}${stray.length > 3 ? ', …' : ''} but no ${A.role}; no sidecar injected`,
          ]
        : [];
    return { action: 'skip', reason: `no ${A.role} annotation`, warnings };
  }
  return undefined;
}

/** Step: a misspelt annotation is an error, not silently ignored. */
function unknownKeys(r: Reader, ours: Array<[string, unknown]>): void {
  for (const [key] of ours) {
    if (!KNOWN.has(key) && !key.startsWith(SECRET_PREFIX)) {
      r.bad(
        key,
        r.all[key],
        `is not a vault-irsa annotation (known: role, secret-<name>, inject, auth-mount, vault-addr, vault-namespace, iam-server-id-header, sts-region, aws-role-arn, port, health-port, sidecar-mode, refresh, cpu-request, cpu-limit, memory-request, memory-limit, vault-api)`,
      );
    }
  }
}

/** Step: the true/false switches. */
function switches(r: Reader): { vaultApi: boolean } {
  const inject = r.str(A.inject);
  if (inject !== undefined && inject !== 'true') r.bad(A.inject, inject, 'must be "true" or "false"');
  const vaultApi = r.str(A.vaultApi);
  if (vaultApi !== undefined && vaultApi !== 'true' && vaultApi !== 'false')
    r.bad(A.vaultApi, vaultApi, 'must be "true" or "false"');
  return { vaultApi: vaultApi === 'true' };
}

/** Step: where and as whom the sidecar logs in to Vault. */
function vaultLogin(r: Reader, defaults: PlanDefaults) {
  const role = r.checked(A.role, checkVaultRole);
  const authMount = r.checked(A.authMount, checkAuthMount) ?? SIDECAR_DEFAULTS.authMount;
  let vaultAddr = defaults.vaultAddr;
  const addrRaw = r.str(A.vaultAddr);
  if (addrRaw !== undefined) {
    const n = normalizeVaultAddr(addrRaw.trim());
    if (n === null) r.bad(A.vaultAddr, addrRaw, 'is not an http(s) URL');
    else if (!defaults.allowedVaultAddrs.includes(n))
      r.bad(A.vaultAddr, addrRaw, `is not in the webhook's allow-list (${defaults.allowedVaultAddrs.join(', ')})`);
    else vaultAddr = n;
  }
  const vaultNamespace = r.checked(A.vaultNamespace, checkVaultNamespace);
  const iamServerId = r.checked(A.iamServerId, checkHeaderValue) ?? defaults.iamServerId;
  return { role, authMount, vaultAddr, vaultNamespace, iamServerId };
}

/** Step: the AWS side of the login (the STS region signed for, an explicit role). */
function awsLogin(r: Reader, defaults: PlanDefaults) {
  const stsRegion = r.checked(A.stsRegion, checkRegion) ?? defaults.stsRegion;
  const awsRoleArn = r.checked(A.awsRoleArn, checkRoleArn);
  return { stsRegion, awsRoleArn };
}

/** Step: how the sidecar runs (mode, refresh interval). */
function sidecarRun(r: Reader, defaults: PlanDefaults) {
  const refresh = r.checked(A.refresh, checkRefresh) ?? SIDECAR_DEFAULTS.refresh;
  let mode = defaults.sidecarMode;
  const modeRaw = r.str(A.mode);
  if (modeRaw !== undefined) {
    if (modeRaw === 'native' || modeRaw === 'classic') mode = modeRaw;
    else r.bad(A.mode, modeRaw, 'is not a sidecar mode (native or classic)');
  }
  return { refresh, mode };
}

/** Step: the two ports, distinct from each other and from every port a container declares. */
function ports(r: Reader, declaredPorts: DeclaredPort[]): { port: number; healthPort: number } {
  const portRaw = r.checked(A.port, checkPort);
  const healthRaw = r.checked(A.healthPort, checkPort);
  const port = portRaw !== undefined ? Number(portRaw) : SIDECAR_DEFAULTS.port;
  const healthPort = healthRaw !== undefined ? Number(healthRaw) : SIDECAR_DEFAULTS.healthPort;
  const portValid = !r.reported.has(A.port);
  const healthValid = !r.reported.has(A.healthPort);
  if (portValid && healthValid && port === healthPort) {
    const key = portRaw !== undefined ? A.port : A.healthPort;
    r.bad(key, String(port), `must differ from ${key === A.port ? A.healthPort : A.port} (${port})`);
  } else {
    for (const [key, value, valid, given] of [
      [A.port, port, portValid, portRaw !== undefined],
      [A.healthPort, healthPort, healthValid, healthRaw !== undefined],
    ] as const) {
      const clash = valid ? declaredPorts.find((d) => d.port === value) : undefined;
      if (clash) {
        r.bad(
          key,
          String(value),
          `${given ? '' : '(the default) '}clashes with port ${value} declared by container ${quote(clash.container)}; set ${key} to a free port`,
        );
      }
    }
  }
  return { port, healthPort };
}

/** Step: `secret-<name>` annotations → name → path, sorted by name so the sidecar's env is stable. */
function secretsOf(r: Reader, ours: Array<[string, unknown]>): Record<string, string> {
  const secrets: Record<string, string> = {};
  for (const [key] of ours
    .filter(([k]) => k.startsWith(SECRET_PREFIX))
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    const name = key.slice(SECRET_PREFIX.length);
    const path = r.str(key);
    if (!isDnsLabel(name)) {
      r.bad(
        key,
        path ?? '',
        `has a secret name ${quote(name)} that is not a DNS label (lowercase letters, digits and -, at most 63)`,
      );
      continue;
    }
    if (path === undefined) continue;
    const p = checkVaultPath(path);
    if (p) r.bad(key, path, p);
    else secrets[name] = path;
  }
  return secrets;
}

/** Decide whether a pod is injected, and if so with what. `annotations` is untrusted input. */
export function planFromAnnotations(
  annotations: unknown,
  defaults: PlanDefaults,
  declaredPorts: DeclaredPort[] = [],
): PlanResult {
  if (
    annotations !== undefined &&
    annotations !== null &&
    (typeof annotations !== 'object' || Array.isArray(annotations))
  ) {
    return { action: 'deny', problems: ['metadata.annotations is not a map of strings'] };
  }
  const all = (annotations ?? {}) as Record<string, unknown>;
  const ours = Object.entries(all).filter(([k]) => k.startsWith(PREFIX));
  const skip = skipReason(all, ours);
  if (skip !== undefined) return skip;

  const r = reader(all);
  unknownKeys(r, ours);
  const { vaultApi } = switches(r);
  const vault = vaultLogin(r, defaults);
  const aws = awsLogin(r, defaults);
  const run = sidecarRun(r, defaults);
  const { port, healthPort } = ports(r, declaredPorts);
  const secrets = secretsOf(r, ours);
  const resources = resolveResources(all, defaults, r.bad, r.str);

  const role = vault.role;
  if (r.problems.length > 0 || role === undefined) {
    if (role === undefined && !r.reported.has(A.role)) r.bad(A.role, all[A.role], 'is missing');
    return { action: 'deny', problems: r.problems };
  }

  const plan: InjectionPlan = {
    role,
    authMount: vault.authMount,
    vaultAddr: vault.vaultAddr,
    ...(vault.vaultNamespace !== undefined ? { vaultNamespace: vault.vaultNamespace } : {}),
    ...(vault.iamServerId !== undefined ? { iamServerId: vault.iamServerId } : {}),
    stsRegion: aws.stsRegion,
    ...(aws.awsRoleArn !== undefined ? { awsRoleArn: aws.awsRoleArn } : {}),
    port,
    healthPort,
    mode: run.mode,
    refresh: run.refresh,
    secrets,
    ...(vaultApi ? { vaultApi: true as const } : {}),
    resources,
    image: defaults.sidecarImage,
    uid: defaults.sidecarUid,
    ...(defaults.sidecarImagePullPolicy !== undefined ? { imagePullPolicy: defaults.sidecarImagePullPolicy } : {}),
    // a copy: the plan is frozen when kept (plan-cache.ts), the webhook's config is not the plan's to freeze
    ...(defaults.vaultCaConfigMap !== undefined ? { vaultCaConfigMap: { ...defaults.vaultCaConfigMap } } : {}),
    ...(defaults.awsRegion !== undefined ? { awsRegion: defaults.awsRegion } : {}),
    ...(defaults.stsEndpointUrl !== undefined ? { stsEndpointUrl: defaults.stsEndpointUrl } : {}),
  };
  return { action: 'inject', plan };
}

/**
 * Per-pod resource overrides on top of the webhook's defaults. A request above the default limit (and no
 * limit annotation) raises the limit to the request, since asking for more than the default is the point.
 */
function resolveResources(
  all: Record<string, unknown>,
  defaults: PlanDefaults,
  bad: (key: string, value: unknown, what: string) => void,
  str: (key: string) => string | undefined,
): InjectionPlan['resources'] {
  const requests: Record<string, string> = {};
  const limits: Record<string, string> = {};
  const pairs = [
    ['cpu', A.cpuRequest, A.cpuLimit, defaults.resources.cpuRequest, defaults.resources.cpuLimit],
    ['memory', A.memoryRequest, A.memoryLimit, defaults.resources.memoryRequest, defaults.resources.memoryLimit],
  ] as const;
  for (const [resource, reqKey, limKey, reqDefault, limDefault] of pairs) {
    const read = (key: string): { value?: string; given: boolean; ok: boolean } => {
      const v = str(key);
      if (v === undefined) return { given: false, ok: true };
      const q = parseQuantity(v);
      if (q === null || q < 0) {
        bad(key, v, 'is not a Kubernetes quantity (e.g. 10m, 250m, 1 for cpu; 32Mi, 1Gi for memory)');
        return { given: true, ok: false };
      }
      return { value: v, given: true, ok: true };
    };
    const req = read(reqKey);
    const lim = read(limKey);
    if (!req.ok || !lim.ok) continue;
    const request = req.value ?? reqDefault;
    let limit = lim.value ?? limDefault;
    if (request !== undefined && limit !== undefined && (parseQuantity(request) ?? 0) > (parseQuantity(limit) ?? 0)) {
      if (lim.given) {
        bad(
          req.given ? reqKey : limKey,
          req.given ? request : limit,
          req.given
            ? `is larger than ${limKey} (${limit})`
            : `is smaller than the sidecar's ${resource} request (${request})`,
        );
        continue;
      }
      limit = request;
    }
    if (request !== undefined) requests[resource] = request;
    if (limit !== undefined) limits[resource] = limit;
  }
  return { requests, limits };
}
