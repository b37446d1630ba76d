/**
 * The Kubernetes client configuration. @kubernetes/client-node is about half of the webhook's bundle and
 * megabytes of heap once evaluated, so main.ts imports this module (and service-accounts.ts) with import()
 * only when the API is to be used: a webhook run with VAULT_IRSA_WEBHOOK_KUBERNETES=off and TLS from files
 * never evaluates client-node. Imported by name, not as a namespace, so the bundle keeps only what is used.
 */
import { KubeConfig } from '@kubernetes/client-node';

export function loadKubeConfig(): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromDefault();
  // client-node refuses an http:// API server unless TLS verification is marked off; there is no TLS to
  // verify there (a local proxy such as `kubectl proxy`, a test API server), so say so for it
  kc.clusters = kc.clusters.map((c) => (c.server.startsWith('http://') ? { ...c, skipTLSVerify: true } : c));
  return kc;
}
