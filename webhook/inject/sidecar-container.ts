/**
 * The sidecar container (docs/pod.md, docs/configuration.md). Its env is exactly the sidecar's configuration, written
 * with the names in sidecar/contract/names.ts so the two sides cannot drift.
 *
 * Modes:
 *  - native: an init container with restartPolicy Always (Kubernetes 1.29+). The kubelet holds every later
 *    init and app container until its startup probe (/readyz: every declared secret read once) passes, and
 *    does not wait for it when the app containers exit, so Jobs complete. Jobs need this mode.
 *  - classic: the first regular container, with a postStart hook running `vault-irsa-sidecar wait`. The
 *    kubelet starts containers in order and does not start the next one before a postStart hook returns,
 *    so the app starts after the sidecar is ready. A Job's pod never completes in this mode: the sidecar
 *    keeps running after the app exits.
 */
import { SIDECAR_DEFAULTS, SIDECAR_ENV } from '../../sidecar/contract/names.js';
import type { AwsIdentity, Container, EnvVar, InjectionPlan, VolumeMount } from '../plan.js';
import {
  CA_FILE,
  CA_MOUNT_PATH,
  CA_VOLUME,
  HEALTH_PORT_NAME,
  SIDECAR_COMMAND,
  SIDECAR_CONTAINER,
  SIDECAR_MOUNT_PATH,
  SIDECAR_VOLUME,
} from './names.js';
import { reused } from '../reused-json.js';

export function sidecarEnv(plan: InjectionPlan, identity: AwsIdentity): EnvVar[] {
  const env: EnvVar[] = [{ name: SIDECAR_ENV.vaultAddr, value: plan.vaultAddr }];
  if (plan.vaultCaConfigMap) env.push({ name: SIDECAR_ENV.vaultCaCert, value: CA_FILE });
  if (plan.vaultNamespace !== undefined) env.push({ name: SIDECAR_ENV.vaultNamespace, value: plan.vaultNamespace });
  env.push({ name: SIDECAR_ENV.role, value: plan.role }, { name: SIDECAR_ENV.authMount, value: plan.authMount });
  if (plan.iamServerId !== undefined) env.push({ name: SIDECAR_ENV.iamServerId, value: plan.iamServerId });
  env.push(
    { name: SIDECAR_ENV.stsRegion, value: plan.stsRegion },
    { name: SIDECAR_ENV.secrets, value: JSON.stringify(plan.secrets) },
    { name: SIDECAR_ENV.listen, value: `127.0.0.1:${plan.port}` },
    { name: SIDECAR_ENV.healthListen, value: `0.0.0.0:${plan.healthPort}` },
    { name: SIDECAR_ENV.tokenFile, value: SIDECAR_DEFAULTS.tokenFile },
    { name: SIDECAR_ENV.refresh, value: plan.refresh },
  );
  env.push(...identity.env);
  if (plan.stsEndpointUrl !== undefined && !env.some((e) => e.name === 'AWS_ENDPOINT_URL_STS')) {
    env.push({ name: 'AWS_ENDPOINT_URL_STS', value: plan.stsEndpointUrl });
  }
  return env;
}

/**
 * Sidecar containers already built, per plan: the pods of one workload share a plan (plan-cache.ts) and nearly
 * always an AWS identity, so they get one shared container (reused-json.ts), built and serialised once. An
 * identity is matched by what the container takes from it, its env and mounts, field by field and in order
 * (cheaper than building a key, and the kept text is then byte for byte what this identity would give).
 *
 * Only plain identities are kept: every env field a string, every mount field a string or boolean, and the
 * container's JSON ASCII and at most MAX_SHARED_CHARS. A copied env entry can carry any JSON (a valueFrom);
 * kept, a few thousand small objects in it would hold megabytes per entry while their text stays short. So what
 * is kept is at most the text's size in memory: MAX_PER_PLAN identities a plan (the oldest goes first) for the
 * plan cache's MAX_PLANS plans, ~5 MiB at worst, and a plan's containers go with the plan. Anything else is
 * built every time, as before.
 */
export const MAX_PER_PLAN = 2;
export const MAX_SHARED_CHARS = 8 * 1024;
// JSON.stringify has escaped every character below 0x20; text with anything past 0x7e (DEL included) is not kept
const ASCII = /^[\x20-\x7e]*$/;
interface Built {
  env: EnvVar[];
  mounts: VolumeMount[];
  container: Container;
}
const built = new WeakMap<InjectionPlan, Built[]>();

/** buildSidecarContainer(plan, identity), shared between the reviews that have the same plan and identity. */
export function sidecarContainer(plan: InjectionPlan, identity: AwsIdentity): Container {
  let kept = built.get(plan);
  if (kept === undefined) built.set(plan, (kept = []));
  for (const b of kept)
    if (sameEntries(b.env, identity.env) && sameEntries(b.mounts, identity.mounts)) return b.container;
  const container = buildSidecarContainer(plan, identity);
  if (!identity.env.every(plainEntry) || !identity.mounts.every(plainEntry)) return container;
  const text = JSON.stringify(container);
  if (text.length > MAX_SHARED_CHARS || !ASCII.test(text)) return container;
  if (kept.length >= MAX_PER_PLAN) kept.shift();
  kept.push({ env: identity.env, mounts: identity.mounts, container: reused(container, text) });
  return container;
}

/** Every field a string (or a boolean, a mount's readOnly): nothing that can hold more than its text shows. */
function plainEntry(e: object): boolean {
  for (const v of Object.values(e)) if (typeof v !== 'string' && typeof v !== 'boolean') return false;
  return true;
}

/** The same entries with the same fields in the same order (kept entries are plain, so `===` compares values). */
function sameEntries(kept: object[], now: object[]): boolean {
  if (kept.length !== now.length) return false;
  for (let i = 0; i < kept.length; i++) {
    const a = kept[i] as Record<string, unknown>;
    const b = now[i] as Record<string, unknown>;
    const keys = Object.keys(b);
    let n = 0;
    for (const k in a) if (keys[n++] !== k || a[k] !== b[k]) return false;
    if (n !== keys.length) return false;
  }
  return true;
}

export function buildSidecarContainer(plan: InjectionPlan, identity: AwsIdentity): Container {
  const httpGet = (path: string): Record<string, unknown> => ({ path, port: plan.healthPort, scheme: 'HTTP' });
  const resources: Record<string, Record<string, string>> = {};
  if (Object.keys(plan.resources.requests).length > 0) resources.requests = { ...plan.resources.requests };
  if (Object.keys(plan.resources.limits).length > 0) resources.limits = { ...plan.resources.limits };

  const container: Container = {
    name: SIDECAR_CONTAINER,
    image: plan.image,
    ...(plan.imagePullPolicy !== undefined ? { imagePullPolicy: plan.imagePullPolicy } : {}),
    command: [SIDECAR_COMMAND],
    env: sidecarEnv(plan, identity),
    ports: [{ name: HEALTH_PORT_NAME, containerPort: plan.healthPort, protocol: 'TCP' }],
    resources,
    volumeMounts: [
      { name: SIDECAR_VOLUME, mountPath: SIDECAR_MOUNT_PATH },
      ...identity.mounts,
      ...(plan.vaultCaConfigMap ? [{ name: CA_VOLUME, mountPath: CA_MOUNT_PATH, readOnly: true }] : []),
    ],
    livenessProbe: { httpGet: httpGet('/healthz'), periodSeconds: 10, timeoutSeconds: 2, failureThreshold: 3 },
    securityContext: {
      runAsNonRoot: true,
      runAsUser: plan.uid,
      runAsGroup: plan.uid,
      readOnlyRootFilesystem: true,
      allowPrivilegeEscalation: false,
      privileged: false,
      capabilities: { drop: ['ALL'] },
      seccompProfile: { type: 'RuntimeDefault' },
    },
    terminationMessagePolicy: 'FallbackToLogsOnError',
  };
  if (plan.mode === 'native') {
    container.restartPolicy = 'Always';
    // every second for up to 5 minutes: secrets usually arrive in well under a second, and a
    // sidecar that cannot read them should be restarted with its reason in the pod's events
    container.startupProbe = {
      httpGet: httpGet('/readyz'),
      periodSeconds: 1,
      timeoutSeconds: 2,
      failureThreshold: 300,
    };
  } else {
    container.lifecycle = { postStart: { exec: { command: [SIDECAR_COMMAND, 'wait'] } } };
  }
  return container;
}
