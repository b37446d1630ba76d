/**
 * The images the Docker part runs, pinned so a run today and a run next year test the same servers.
 * Each can be overridden (to try another release) without editing the tests.
 */
const pick = (name: string, pinned: string): string => process.env[name] || pinned;

export const IMAGES = {
  vault: pick('VAULT_IRSA_REAL_VAULT_IMAGE', 'hashicorp/vault:1.20.4'),
  // Images after 4.14 need a LocalStack auth token even for the community services.
  localstack: pick('VAULT_IRSA_REAL_LOCALSTACK_IMAGE', 'localstack/localstack:4.14.0'),
  k3s: pick('VAULT_IRSA_REAL_K3S_IMAGE', 'rancher/k3s:v1.31.2-k3s1'),
} as const;
