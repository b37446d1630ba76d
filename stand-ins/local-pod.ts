/**
 * A stand-in kubelet for one machine: lays out a pod's volumes as temp directories and turns one container's
 * spec into the environment of a local process, with every path under one of the container's mounts moved
 * into the matching directory. The demo and the whole-flow test use it to run the sidecar and the "app"
 * exactly as the webhook wrote them, with no cluster.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

interface EnvVar {
  name: string;
  value?: string;
  valueFrom?: unknown;
}
interface VolumeMount {
  name: string;
  mountPath: string;
  readOnly?: boolean;
}
export interface ContainerSpec {
  name: string;
  image?: string;
  command?: string[];
  args?: string[];
  env?: EnvVar[];
  volumeMounts?: VolumeMount[];
  restartPolicy?: string;
  startupProbe?: { httpGet?: { path: string; port: number | string } };
  lifecycle?: { postStart?: { exec?: { command?: string[] } } };
}
interface ProjectedSource {
  serviceAccountToken?: { audience?: string; expirationSeconds?: number; path: string };
}
interface Volume {
  name: string;
  emptyDir?: unknown;
  projected?: { sources?: ProjectedSource[] };
}
export interface PodSpecView {
  metadata?: { name?: string; namespace?: string; annotations?: Record<string, string> };
  spec: {
    serviceAccountName?: string;
    containers: ContainerSpec[];
    initContainers?: ContainerSpec[];
    volumes?: Volume[];
  };
}

/** What the kubelet would ask the API server for: a projected ServiceAccount token. */
export type MintServiceAccountToken = (opts: { audience: string; expiresInSeconds: number }) => Promise<string>;

export function findContainer(pod: PodSpecView, name: string): { container: ContainerSpec; init: boolean } {
  const init = pod.spec.initContainers?.find((c) => c.name === name);
  if (init) return { container: init, init: true };
  const app = pod.spec.containers.find((c) => c.name === name);
  if (app) return { container: app, init: false };
  throw new Error(`the pod has no container "${name}"`);
}

/** Volume name → local directory. emptyDir: an empty directory; projected serviceAccountToken: the token file. */
export async function layOutVolumes(
  pod: PodSpecView,
  root: string,
  mint: MintServiceAccountToken,
): Promise<Map<string, string>> {
  const dirs = new Map<string, string>();
  for (const v of pod.spec.volumes ?? []) {
    const dir = join(root, 'volumes', v.name);
    await mkdir(dir, { recursive: true });
    dirs.set(v.name, dir);
    for (const s of v.projected?.sources ?? []) {
      if (!s.serviceAccountToken) continue;
      const t = s.serviceAccountToken;
      const jwt = await mint({
        audience: t.audience ?? 'https://kubernetes.default.svc',
        expiresInSeconds: t.expirationSeconds ?? 3600,
      });
      await writeFile(join(dir, t.path), jwt, { mode: 0o600 });
    }
  }
  return dirs;
}

/**
 * The container's env as written, with paths mapped through its volume mounts. A listen address on 0.0.0.0
 * (the pod IP in a cluster) becomes 127.0.0.1: on a shared machine nothing should listen beyond loopback.
 */
export function localEnv(container: ContainerSpec, volumeDirs: Map<string, string>): Record<string, string> {
  const mounts = (container.volumeMounts ?? [])
    .map((m) => {
      const dir = volumeDirs.get(m.name);
      if (dir === undefined)
        throw new Error(`container "${container.name}" mounts "${m.name}", which the pod does not define`);
      return { from: m.mountPath.replace(/\/+$/, ''), to: dir };
    })
    .sort((a, b) => b.from.length - a.from.length);
  const env: Record<string, string> = {};
  for (const e of container.env ?? []) {
    if (e.value === undefined)
      throw new Error(`container "${container.name}" env ${e.name} uses valueFrom, which one machine cannot resolve`);
    const m = mounts.find((x) => e.value === x.from || e.value!.startsWith(`${x.from}/`));
    const value = m ? m.to + e.value.slice(m.from.length) : e.value;
    env[e.name] = value.replace(/^0\.0\.0\.0:/, '127.0.0.1:');
  }
  return env;
}
