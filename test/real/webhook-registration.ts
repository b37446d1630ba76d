/**
 * The MutatingWebhookConfiguration users install (manifests/install.yaml), pointed at a webhook outside the
 * cluster: the Service reference becomes a URL, and caBundle (the webhook's own job in TLS mode auto, which
 * needs the in-cluster Service name) is set to the test certificate. Rules, selectors, matchConditions and
 * policies stay exactly as shipped. Also the shipped ValidatingAdmissionPolicy and the TLS mode auto objects.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments } from 'yaml';
import type {
  KubernetesObject,
  V1MutatingWebhookConfiguration,
  V1Pod,
  V1ValidatingAdmissionPolicy,
  V1ValidatingAdmissionPolicyBinding,
} from '@kubernetes/client-node';

const INSTALL_YAML = fileURLToPath(new URL('../../manifests/install.yaml', import.meta.url));

export function shippedObjects(): KubernetesObject[] {
  return parseAllDocuments(readFileSync(INSTALL_YAML, 'utf8'))
    .map((d) => d.toJS() as KubernetesObject)
    .filter((d) => d !== null && typeof d === 'object');
}

/** The ValidatingAdmissionPolicy and its binding exactly as shipped. */
export function shippedAdmissionPolicy(): {
  policy: V1ValidatingAdmissionPolicy;
  binding: V1ValidatingAdmissionPolicyBinding;
} {
  const docs = shippedObjects();
  const policy = docs.find((d) => d.kind === 'ValidatingAdmissionPolicy') as V1ValidatingAdmissionPolicy | undefined;
  const binding = docs.find((d) => d.kind === 'ValidatingAdmissionPolicyBinding') as
    V1ValidatingAdmissionPolicyBinding | undefined;
  if (!policy || !binding) throw new Error(`${INSTALL_YAML} has no ValidatingAdmissionPolicy and binding`);
  return { policy, binding };
}

/** What TLS mode auto needs, as shipped: namespace, ServiceAccount, the empty Secret, the narrowed RBAC. */
export function shippedAutoTlsObjects(): KubernetesObject[] {
  return shippedObjects().filter(
    (d) =>
      d.kind === 'Namespace' ||
      d.kind === 'ServiceAccount' ||
      d.kind === 'Secret' ||
      (/^(Cluster)?Role(Binding)?$/.test(d.kind ?? '') && (d.metadata?.name ?? '').endsWith('-tls')),
  );
}

export function shippedWebhookConfiguration(): V1MutatingWebhookConfiguration {
  const docs = shippedObjects() as unknown[];
  const mwc = docs.find(
    (d): d is V1MutatingWebhookConfiguration =>
      (d as { kind?: unknown } | null)?.kind === 'MutatingWebhookConfiguration',
  );
  if (!mwc) throw new Error(`${INSTALL_YAML} has no MutatingWebhookConfiguration`);
  return mwc;
}

export function registrationFor(url: string, caPem: string): V1MutatingWebhookConfiguration {
  const mwc = structuredClone(shippedWebhookConfiguration());
  const annotations = { ...(mwc.metadata?.annotations ?? {}) };
  // a URL webhook on the host: caBundle is set here (older install.yaml files left it to cert-manager's annotation)
  delete annotations['cert-manager.io/inject-ca-from'];
  mwc.metadata = {
    ...mwc.metadata,
    ...(Object.keys(annotations).length > 0 ? { annotations } : { annotations: undefined }),
  };
  for (const hook of mwc.webhooks ?? [])
    hook.clientConfig = { url, caBundle: Buffer.from(caPem, 'utf8').toString('base64') };
  return mwc;
}

export const SIDECAR_IMAGE = 'ghcr.io/vault-irsa/sidecar:real-tier';

/** A pod as a user writes it; `annotations` decide whether it asks for injection. */
export function podFor(name: string, serviceAccountName: string, annotations: Record<string, string>): V1Pod {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, annotations },
    spec: { serviceAccountName, containers: [{ name: 'app', image: 'registry.k8s.io/pause:3.10' }] },
  };
}
