/** Whether there is a Kubernetes API configuration to load (kube-connection.ts loads it), without loading it. */
import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';

/** Whether `auto` finds a cluster: KUBECONFIG, ~/.kube/config, or the in-cluster ServiceAccount token. */
export function kubeConfigAvailable(
  env: Record<string, string | undefined> = process.env,
  serviceAccountDir = '/var/run/secrets/kubernetes.io/serviceaccount',
): boolean {
  if (env.KUBECONFIG) return true;
  if (existsSync(join(homedir(), '.kube', 'config'))) return true;
  return Boolean(env.KUBERNETES_SERVICE_HOST) && existsSync(join(serviceAccountDir, 'token'));
}
