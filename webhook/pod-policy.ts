/**
 * Pods the sidecar cannot serve safely, decided before anything is built: each finding is a problem (deny) or a
 * warning, worded for the pod's author. Pure.
 */
import type { Container, Pod } from './plan.js';
import { quote } from './validate.js';

/**
 * Containers plus init containers a pod may have to be injected. Kubernetes itself sets no count limit (only the
 * size of the object: the API server's 3 MiB request body and etcd's 1.5 MiB value); a 3 MB pod can carry ten
 * thousand minimal containers, which no real workload needs. Far above any real pod, and it keeps a review cheap.
 */
export const MAX_CONTAINERS = 500;

export interface PolicyFindings {
  problems: string[];
  warnings: string[];
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** runAsUser of a container: its own securityContext's, else the pod's; undefined when neither sets a number. */
function runAsUser(c: Container, pod: Pod): number | undefined {
  const own = isObject(c.securityContext) ? c.securityContext.runAsUser : undefined;
  if (typeof own === 'number') return own;
  const podLevel = isObject(pod.spec.securityContext) ? pod.spec.securityContext.runAsUser : undefined;
  return typeof podLevel === 'number' ? podLevel : undefined;
}

/** How a container could trace another UID's process: privileged, or CAP_SYS_PTRACE (or ALL) added. */
function ptracePower(c: Container): string | undefined {
  const sc = isObject(c.securityContext) ? c.securityContext : undefined;
  if (sc === undefined) return undefined;
  if (sc.privileged === true) return 'privileged';
  const add = isObject(sc.capabilities) && Array.isArray(sc.capabilities.add) ? sc.capabilities.add : [];
  const cap = (add as unknown[]).find(
    (a): a is string => typeof a === 'string' && ['SYS_PTRACE', 'CAP_SYS_PTRACE', 'ALL'].includes(a.toUpperCase()),
  );
  return typeof cap === 'string' ? `given capability ${cap}` : undefined;
}

export function podPolicy(pod: Pod, apps: Container[], sidecarUid: number): PolicyFindings {
  const problems: string[] = [];
  const warnings: string[] = [];
  const count = pod.spec.containers.length + (pod.spec.initContainers?.length ?? 0);
  if (count > MAX_CONTAINERS) {
    problems.push(
      `the pod has ${count} containers and init containers; vault-irsa injects pods with at most ${MAX_CONTAINERS}`,
    );
  }
  if (pod.spec.hostNetwork === true) {
    problems.push(
      "spec.hostNetwork is true: the sidecar's secrets API would listen on the node's 127.0.0.1, where every process on the " +
        'node could reach it, and two such pods on one node would clash on its port; run the pod without hostNetwork',
    );
  }
  if (pod.spec.hostPID === true) {
    // the same exposure as shareProcessNamespace, to the whole node: and every vault-irsa sidecar on the node
    // runs as the same UID, so this pod's processes under that UID could read all of them
    problems.push(
      `spec.hostPID is true: every process on the node would see the sidecar's, and one running as UID ${sidecarUid} (every ` +
        'vault-irsa sidecar on the node does) could read its tokens and secrets through /proc; run the pod without hostPID',
    );
  }
  const sharedPids = pod.spec.shareProcessNamespace === true;
  if (sharedPids) {
    warnings.push(
      `vault-irsa: spec.shareProcessNamespace is true: the other containers see the sidecar's process, and one running as ` +
        `UID ${sidecarUid} or with CAP_SYS_PTRACE can read the sidecar's environment and files (its AWS web identity token) and ` +
        'memory (its Vault token and the secrets) through /proc',
    );
  }
  for (const c of apps) {
    const power = sharedPids ? ptracePower(c) : undefined;
    if (power !== undefined) {
      // ptrace across UIDs needs CAP_SYS_PTRACE, which privileged containers have too: with shared PIDs such a
      // container reads the sidecar's memory whatever UID either runs as
      problems.push(
        `container ${quote(c.name)} is ${power} and spec.shareProcessNamespace is true: it could read the sidecar's ` +
          'memory (its Vault token and the secrets) through /proc; drop that or do not share the process namespace',
      );
      continue;
    }
    if (runAsUser(c, pod) !== sidecarUid) continue;
    if (sharedPids) {
      // the combination is exactly the exposure: deny rather than warn, the author must change one of the two
      problems.push(
        `container ${quote(c.name)} runs as UID ${sidecarUid}, the sidecar's, and spec.shareProcessNamespace is true: it could read ` +
          "the sidecar's tokens and secrets through /proc; run it as another UID or do not share the process namespace",
      );
    } else {
      warnings.push(
        `vault-irsa: container ${quote(c.name)} runs as UID ${sidecarUid}, the sidecar's: harmless while the pod does not share its ` +
          "process namespace, but with spec.shareProcessNamespace it could read the sidecar's credentials; prefer another UID",
      );
    }
  }
  return { problems, warnings };
}
