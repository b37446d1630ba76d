/**
 * Pod + plan + AWS identity → the injected pod. Pure: works on a copy, so the JSON patch is simply the
 * diff between the original and this result (webhook/patch.ts), unknown fields survive, and an injected
 * pod (status annotation set) is never passed here again.
 */
import { A, STATUS_INJECTED } from '../annotations.js';
import type { AwsIdentity, Container, InjectionPlan, Pod } from '../plan.js';
import { mountConflicts, withAppWiring } from './app-containers.js';
import { INJECTED_LABEL, SIDECAR_CONTAINER } from './names.js';
import { sidecarContainer } from './sidecar-container.js';
import { copyWith } from './copy-with.js';
import { volumeConflicts, withVolumes } from './volumes.js';

export type InjectResult = { ok: true; pod: Pod; warnings: string[] } | { ok: false; problems: string[] };

/** Containers the sidecar serves: every init and app container except the sidecar itself. */
export function appContainers(pod: Pod): Container[] {
  return [...(pod.spec.initContainers ?? []), ...pod.spec.containers].filter((c) => c?.name !== SIDECAR_CONTAINER);
}

function ownedByJob(pod: Pod): boolean {
  return (pod.metadata?.ownerReferences ?? []).some((o) => o?.kind === 'Job');
}

export function injectPod(original: Pod, plan: InjectionPlan, identity: AwsIdentity): InjectResult {
  const problems: string[] = [];
  const all = [...(original.spec.initContainers ?? []), ...original.spec.containers];
  if (all.some((c) => c?.name === SIDECAR_CONTAINER)) {
    problems.push(
      `the pod already has a container named "${SIDECAR_CONTAINER}" but no ${A.status}: ${STATUS_INJECTED} annotation`,
    );
  }
  problems.push(...volumeConflicts(original.spec.volumes, plan), ...mountConflicts(all));
  if (problems.length > 0) return { ok: false, problems };

  // Copy on write: the builders return new objects for what they change and leave the rest shared with the
  // original, so only the pod and its spec are copied here (not the whole pod: a deep clone of a real pod was
  // the webhook's biggest cost after the diff, and sharing lets the diff skip unchanged subtrees at once).
  // Nothing is written through a shared reference: the result is only diffed and serialised.
  const spec = original.spec;
  const warnings = [...identity.warnings];
  const sidecar = sidecarContainer(plan, identity);
  const inits = (spec.initContainers ?? []).map((c) => withAppWiring(c, plan, warnings));
  const containers = spec.containers.map((c) => withAppWiring(c, plan, warnings));

  // the keys in the order they were set when this assigned them one by one: a new key's place in the object
  // is its place among the patch's adds
  let changed: Partial<Pod['spec']>;
  if (plan.mode === 'native') {
    // first, so ordinary init containers can already read secrets
    changed = { initContainers: [sidecar, ...inits], containers };
  } else {
    changed = inits.length > 0 ? { initContainers: inits } : {};
    changed.containers = [sidecar, ...containers];
    if (ownedByJob(original)) {
      warnings.push(
        `vault-irsa: this Job's pod runs the sidecar in classic mode and will not complete; set ${A.mode}: native (Kubernetes 1.29+)`,
      );
    }
  }
  changed.volumes = withVolumes(spec.volumes, plan, identity);
  const metadata = original.metadata ?? {};
  const pod: Pod = {
    ...original,
    spec: copyWith(spec, changed),
    metadata: {
      ...metadata,
      labels: copyWith(metadata.labels ?? {}, { [INJECTED_LABEL]: 'true' }),
      annotations: copyWith(metadata.annotations ?? {}, { [A.status]: STATUS_INJECTED }),
    },
  };
  return { ok: true, pod, warnings };
}
