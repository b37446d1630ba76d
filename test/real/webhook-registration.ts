/**
 * The MutatingWebhookConfiguration users install (manifests/install.yaml), pointed at a webhook outside the
 * cluster: the Service reference becomes a URL, and caBundle (cert-manager's job in a real install) is set
 * to the test certificate. Rules, selectors, matchConditions and policies stay exactly as shipped.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments } from 'yaml';
import type { V1MutatingWebhookConfiguration, V1Pod } from '@kubernetes/client-node';

const INSTALL_YAML = fileURLToPath(new URL('../../manifests/install.yaml', import.meta.url));

export function shippedWebhookConfiguration(): V1MutatingWebhookConfiguration {
  const docs = parseAllDocuments(readFileSync(INSTALL_YAML, 'utf8')).map((d) => d.toJS() as unknown);
  const mwc = docs.find((d): d is V1MutatingWebhookConfiguration => (d as { kind?: unknown } | null)?.kind === 'MutatingWebhookConfiguration');
  if (!mwc) throw new Error(`${INSTALL_YAML} has no MutatingWebhookConfiguration`);
  return mwc;
}

export function registrationFor(url: string, caPem: string): V1MutatingWebhookConfiguration {
  const mwc = structuredClone(shippedWebhookConfiguration());
  const annotations = { ...(mwc.metadata?.annotations ?? {}) };
  // no cert-manager in this cluster: caBundle is set here instead of injected
  delete annotations['cert-manager.io/inject-ca-from'];
  mwc.metadata = { ...mwc.metadata, ...(Object.keys(annotations).length > 0 ? { annotations } : { annotations: undefined }) };
  for (const hook of mwc.webhooks ?? []) hook.clientConfig = { url, caBundle: Buffer.from(caPem, 'utf8').toString('base64') };
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
