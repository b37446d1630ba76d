/**
 * The sidecar's AWS identity (docs/pod.md), in this order:
 *  1. copy IRSA or EKS Pod Identity env and mounts the app containers already carry (another webhook,
 *     or the user, put them there): same role, same token, no second token volume;
 *  2. else mint IRSA from vault-irsa.io/aws-role-arn or the ServiceAccount's eks.amazonaws.com/role-arn,
 *     as the EKS pod identity webhook would, so the result does not depend on webhook order;
 *  3. else nothing, with a warning: EKS Pod Identity may still be added by its own webhook later.
 * Pure: the ServiceAccount's annotations are looked up by the caller.
 */
import { checkAwsEnv } from '../../sidecar/contract/aws-env.js';
import { VaultIrsaError } from '../../sidecar/contract/errors.js';
import { AWS_IDENTITY_ENV } from '../../sidecar/contract/names.js';
import type { AwsIdentity, Container, EnvVar, InjectionPlan, Pod, Volume, VolumeMount } from '../plan.js';
import { checkRoleArn, quote, trimTrailingSlashes } from '../validate.js';
import {
  EKS_ANNOTATIONS,
  IRSA_DEFAULT_AUDIENCE,
  IRSA_DEFAULT_EXPIRATION,
  IRSA_MIN_EXPIRATION,
  IRSA_MOUNT_PATH,
  IRSA_TOKEN_FILE,
  IRSA_VOLUME,
} from './names.js';

/** What the caller learnt about the pod's ServiceAccount. */
export type ServiceAccountView =
  | { status: 'found'; annotations: Record<string, string> }
  | { status: 'not_found' }
  | { status: 'unavailable'; reason: string };

export interface IdentityContext {
  namespace: string;
  serviceAccountName: string;
  serviceAccount: ServiceAccountView;
}

/** A problem with the identity that makes injection impossible (a malformed role ARN on the ServiceAccount). */
export class IdentityError extends VaultIrsaError {
  constructor(message: string) {
    super('invalid_identity', message);
  }
}

const COPIED = new Set<string>(AWS_IDENTITY_ENV);
/**
 * The other mechanism's variables are left behind: a Pod Identity container that also sets AWS_ROLE_ARN (for
 * its own role chaining, say) would otherwise hand the sidecar half an IRSA setup, which it refuses at start.
 */
const NOT_COPIED: Record<'irsa' | 'pod-identity', ReadonlySet<string>> = {
  irsa: new Set(['AWS_CONTAINER_CREDENTIALS_FULL_URI', 'AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE']),
  'pod-identity': new Set(['AWS_ROLE_ARN', 'AWS_WEB_IDENTITY_TOKEN_FILE', 'AWS_ROLE_SESSION_NAME']),
};

function envValue(c: Container, name: string): EnvVar | undefined {
  return (c.env ?? []).find((e) => e?.name === name);
}

/** The mount of `c` under which `file` lives (longest mountPath prefix), if any. */
function mountFor(c: Container, file: string | undefined): VolumeMount | undefined {
  if (file === undefined) return undefined;
  let best: VolumeMount | undefined;
  for (const m of c.volumeMounts ?? []) {
    if (typeof m?.mountPath !== 'string') continue;
    const base = trimTrailingSlashes(m.mountPath);
    if ((file === base || file.startsWith(`${base}/`)) && (best === undefined || base.length > best.mountPath.length))
      best = m;
  }
  return best;
}

/**
 * A JSON copy of an env entry: a shallow one when every field is a string (name and value, the usual entry),
 * which is what a JSON round trip gives for those, at a fraction of its cost; the round trip otherwise
 * (valueFrom). structuredClone costs several times as much per call.
 */
function copyEnv(e: EnvVar): EnvVar {
  for (const k in e) if (typeof e[k] !== 'string') return JSON.parse(JSON.stringify(e)) as EnvVar;
  return { ...e };
}

function copyFrom(c: Container, kind: 'irsa' | 'pod-identity'): AwsIdentity {
  const env = (c.env ?? []).filter((e) => COPIED.has(e?.name) && !NOT_COPIED[kind].has(e.name)).map(copyEnv);
  const fileVar = kind === 'irsa' ? 'AWS_WEB_IDENTITY_TOKEN_FILE' : 'AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE';
  // a hand-made review can put any JSON in value; only a string names a file
  const rawFile = envValue(c, fileVar)?.value;
  const file = typeof rawFile === 'string' ? rawFile : undefined;
  const mount = mountFor(c, file);
  const warnings: string[] = [];
  if (mount === undefined) {
    warnings.push(
      `vault-irsa: container ${quote(c.name)} sets ${fileVar} but mounts no volume holding it; the sidecar gets the env only`,
    );
  }
  const mounts: VolumeMount[] = mount
    ? [
        {
          name: mount.name,
          mountPath: mount.mountPath,
          readOnly: true,
          ...(mount.subPath !== undefined ? { subPath: mount.subPath } : {}),
        },
      ]
    : [];
  return { source: kind === 'irsa' ? 'copied-irsa' : 'copied-pod-identity', env, mounts, volumes: [], warnings };
}

/** The app or init container whose web identity or Pod Identity credentials the sidecar would share. */
function copiableSource(containers: Container[]): { container: Container; kind: 'irsa' | 'pod-identity' } | undefined {
  for (const c of containers) {
    if (envValue(c, 'AWS_ROLE_ARN') && envValue(c, 'AWS_WEB_IDENTITY_TOKEN_FILE'))
      return { container: c, kind: 'irsa' };
  }
  for (const c of containers) {
    if (envValue(c, 'AWS_CONTAINER_CREDENTIALS_FULL_URI') && envValue(c, 'AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE'))
      return { container: c, kind: 'pod-identity' };
  }
  return undefined;
}

/** Whether findCopiableIdentity finds one, without copying it. */
export function hasCopiableIdentity(containers: Container[]): boolean {
  return copiableSource(containers) !== undefined;
}

/** Step 1: an app or init container that already carries web identity or Pod Identity credentials. */
function findCopiableIdentity(containers: Container[]): AwsIdentity | undefined {
  const source = copiableSource(containers);
  return source && copyFrom(source.container, source.kind);
}

/**
 * The copy must be one the sidecar starts with: the sidecar's config parser applies this same contract check,
 * and a pod admitted with env it refuses would crash-loop. Only literal values can be checked (valueFrom is
 * resolved by the kubelet).
 */
function checkCopied(containers: Container[], identity: AwsIdentity): void {
  const literal = new Map<string, string>();
  for (const e of identity.env)
    if (typeof e.value === 'string' && e.valueFrom === undefined) literal.set(e.name, e.value);
  const problem = checkAwsEnv((name) => literal.get(name));
  if (problem === null) return;
  const from = copiableSource(containers)?.container.name;
  throw new IdentityError(
    `container ${quote(from)} env ${problem.name}: ${quote(literal.get(problem.name))} ${problem.problem}; ` +
      "the sidecar shares this container's AWS identity and could not start with it",
  );
}

/** Steps 1–3. Throws IdentityError when the ServiceAccount's role ARN is malformed. */
export function resolveAwsIdentity(
  pod: Pod,
  appContainers: Container[],
  plan: InjectionPlan,
  ctx: IdentityContext,
): AwsIdentity {
  const copied = findCopiableIdentity(appContainers);
  if (copied) {
    checkCopied(appContainers, copied);
    const roleValue = copied.env.find((e) => e.name === 'AWS_ROLE_ARN')?.value;
    const copiedRole = typeof roleValue === 'string' ? roleValue : undefined;
    if (plan.awsRoleArn !== undefined && copiedRole !== plan.awsRoleArn) {
      copied.warnings.push(
        `vault-irsa: vault-irsa.io/aws-role-arn is ignored: the app containers already carry ${copied.source === 'copied-irsa' ? `IRSA (${copiedRole ?? 'AWS_ROLE_ARN'})` : 'EKS Pod Identity'}, which the sidecar shares`,
      );
    }
    return copied;
  }

  const sa = ctx.serviceAccount.status === 'found' ? ctx.serviceAccount.annotations : {};
  const saRef = `${ctx.namespace}/${ctx.serviceAccountName}`;
  const warnings: string[] = [];
  if (ctx.serviceAccount.status === 'unavailable')
    warnings.push(`vault-irsa: ServiceAccount ${saRef} could not be read (${ctx.serviceAccount.reason})`);

  let roleArn = plan.awsRoleArn;
  if (roleArn === undefined) {
    const saRole = sa[EKS_ANNOTATIONS.roleArn];
    if (saRole !== undefined && saRole !== '') {
      const p = checkRoleArn(saRole);
      if (p)
        throw new IdentityError(`ServiceAccount ${saRef} annotation ${EKS_ANNOTATIONS.roleArn}: ${quote(saRole)} ${p}`);
      roleArn = saRole;
    }
  }

  if (roleArn === undefined) {
    warnings.push(
      `vault-irsa: no AWS identity for the sidecar (no IRSA or Pod Identity env in the containers, no vault-irsa.io/aws-role-arn, no ${EKS_ANNOTATIONS.roleArn} on ServiceAccount ${saRef}); injected anyway, relying on EKS Pod Identity being added later`,
    );
    return { source: 'none', env: [], mounts: [], volumes: [], warnings };
  }

  const audience = sa[EKS_ANNOTATIONS.audience] || IRSA_DEFAULT_AUDIENCE;
  let expiration = IRSA_DEFAULT_EXPIRATION;
  const expRaw = sa[EKS_ANNOTATIONS.tokenExpiration];
  if (expRaw !== undefined) {
    if (/^[0-9]{1,10}$/.test(expRaw)) expiration = Math.max(IRSA_MIN_EXPIRATION, Number(expRaw));
    else
      warnings.push(
        `vault-irsa: ServiceAccount ${saRef} annotation ${EKS_ANNOTATIONS.tokenExpiration}: ${quote(expRaw)} is not a number of seconds; using ${IRSA_DEFAULT_EXPIRATION}`,
      );
  }

  const env: EnvVar[] = [];
  if (plan.awsRegion !== undefined) {
    env.push({ name: 'AWS_REGION', value: plan.awsRegion }, { name: 'AWS_DEFAULT_REGION', value: plan.awsRegion });
  }
  if (sa[EKS_ANNOTATIONS.stsRegionalEndpoints] === 'true')
    env.push({ name: 'AWS_STS_REGIONAL_ENDPOINTS', value: 'regional' });
  env.push({ name: 'AWS_ROLE_ARN', value: roleArn }, { name: 'AWS_WEB_IDENTITY_TOKEN_FILE', value: IRSA_TOKEN_FILE });

  // a pod may already have the EKS webhook's volume without the env in its containers; reuse it, as that webhook does
  const hasVolume = (pod.spec.volumes ?? []).some((v) => v?.name === IRSA_VOLUME);
  const volumes: Volume[] = hasVolume
    ? []
    : [
        {
          name: IRSA_VOLUME,
          projected: { sources: [{ serviceAccountToken: { audience, expirationSeconds: expiration, path: 'token' } }] },
        },
      ];
  return {
    source: 'minted-irsa',
    env,
    mounts: [{ name: IRSA_VOLUME, mountPath: IRSA_MOUNT_PATH, readOnly: true }],
    volumes,
    warnings,
  };
}
