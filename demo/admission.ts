/** The API server's side of the demo: a sample pod, one AdmissionReview over HTTPS, the patch applied. */
import { randomUUID } from 'node:crypto';
import { request } from 'node:https';
import { applyPatch, type Operation } from 'rfc6902';
import type { PodSpecView } from '../stand-ins/local-pod.js';

export interface SamplePod extends PodSpecView {
  apiVersion: 'v1';
  kind: 'Pod';
  metadata: { name: string; namespace: string; annotations: Record<string, string> };
}

/** What a pod author writes: a Vault role, one secret, and (no cluster to read the ServiceAccount from) the IAM role. */
export function samplePod(o: { roleArn: string; port: number; healthPort: number }): SamplePod {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name: 'web',
      namespace: 'demo',
      annotations: {
        'vault-irsa.io/role': 'app',
        'vault-irsa.io/secret-config': 'secret/my-app',
        'vault-irsa.io/aws-role-arn': o.roleArn,
        // a short refresh so the demo sees a change within a second; the default is 5m
        'vault-irsa.io/refresh': '1s',
        // free ports: this machine may already use the defaults 8765/8766
        'vault-irsa.io/port': String(o.port),
        'vault-irsa.io/health-port': String(o.healthPort),
        // apps that already read Vault through a client get VAULT_ADDR pointing at the sidecar
        'vault-irsa.io/vault-api': 'true',
      },
    },
    spec: { serviceAccountName: 'app', containers: [{ name: 'app', image: 'ghcr.io/example/web:1.0' }] },
  };
}

export interface Admitted {
  allowed: boolean;
  ops: Operation[];
  warnings: string[];
  /** the pod as the API server would store it */
  pod: SamplePod;
}

export async function admitOverHttps(port: number, ca: string, pod: SamplePod): Promise<Admitted> {
  const review = {
    apiVersion: 'admission.k8s.io/v1',
    kind: 'AdmissionReview',
    request: {
      uid: randomUUID(),
      kind: { group: '', version: 'v1', kind: 'Pod' },
      resource: { group: '', version: 'v1', resource: 'pods' },
      operation: 'CREATE',
      namespace: pod.metadata.namespace,
      userInfo: { username: 'system:serviceaccount:kube-system:replicaset-controller' },
      object: pod,
      dryRun: false,
    },
  };
  const answer = await postJson(port, ca, '/mutate', review);
  if (answer.status !== 200) throw new Error(`the webhook answered ${answer.status}: ${answer.body}`);
  const response = (
    JSON.parse(answer.body) as {
      response: { uid: string; allowed: boolean; patch?: string; warnings?: string[]; status?: { message?: string } };
    }
  ).response;
  if (response.uid !== review.request.uid) throw new Error('the webhook did not echo the review uid');
  if (!response.allowed) throw new Error(`the webhook denied the pod: ${response.status?.message ?? ''}`);
  const ops = response.patch ? (JSON.parse(Buffer.from(response.patch, 'base64').toString('utf8')) as Operation[]) : [];
  const patched = structuredClone(pod);
  const errors = applyPatch(patched, ops).filter((e) => e !== null);
  if (errors.length > 0) throw new Error(`the webhook's patch does not apply: ${errors.map(String).join('; ')}`);
  return { allowed: true, ops, warnings: response.warnings ?? [], pod: patched };
}

/** One line per thing the webhook added, read from the patched pod. */
export function describeInjection(pod: PodSpecView): string[] {
  const lines: string[] = [];
  const init = pod.spec.initContainers?.findIndex((c) => c.name === 'vault-irsa') ?? -1;
  const side = init >= 0 ? pod.spec.initContainers?.[init] : pod.spec.containers.find((c) => c.name === 'vault-irsa');
  if (side) {
    const where = init >= 0 ? `initContainers[${init}]` : 'containers[0]';
    const how =
      side.restartPolicy === 'Always'
        ? `restartPolicy: Always, startupProbe GET ${side.startupProbe?.httpGet?.path}`
        : `postStart: ${side.lifecycle?.postStart?.exec?.command?.join(' ')}`;
    lines.push(`${where} vault-irsa, command ${JSON.stringify(side.command)} (${how})`);
    const aws = (side.env ?? []).filter((e) => e.name.startsWith('AWS_')).map((e) => e.name);
    lines.push(`  sidecar identity env: ${aws.join(', ')}`);
  }
  const volumes = (pod.spec.volumes ?? []).map(
    (v) =>
      `${v.name} (${v.emptyDir ? 'emptyDir, medium Memory' : v.projected ? 'projected ServiceAccount token, audience sts.amazonaws.com' : 'other'})`,
  );
  lines.push(`volumes: ${volumes.join(', ')}`);
  for (const c of pod.spec.containers.filter((x) => x.name !== 'vault-irsa')) {
    const env = (c.env ?? [])
      .filter((e) => e.name.startsWith('VAULT_IRSA_') || e.name === 'VAULT_ADDR')
      .map((e) => `${e.name}=${e.value}`);
    const mounts = (c.volumeMounts ?? []).map((m) => `${m.mountPath}${m.readOnly ? ' (read-only)' : ''}`);
    lines.push(`container ${c.name}: ${env.join(', ')}; mounts ${mounts.join(', ')}`);
  }
  return lines;
}

function postJson(port: number, ca: string, path: string, body: unknown): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port,
        method: 'POST',
        path,
        ca,
        headers: { 'content-type': 'application/json' },
        timeout: 10_000,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
      },
    );
    req.on('timeout', () => req.destroy(new Error(`no answer from the webhook on port ${port}`)));
    req.on('error', reject);
    req.end(JSON.stringify(body));
  });
}
