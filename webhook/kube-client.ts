/**
 * A kubeconfig file read by @kubernetes/client-node (KUBECONFIG, ~/.kube/config: development, the tests).
 * client-node is about half of the webhook's bundle and megabytes of heap once evaluated, so
 * kube-connection.ts imports this module with import() only on that path: in a pod, and with
 * VAULT_IRSA_WEBHOOK_KUBERNETES=off and TLS from files, the webhook never evaluates client-node. Imported by
 * name, not as a namespace, so the bundle keeps only what is used.
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
