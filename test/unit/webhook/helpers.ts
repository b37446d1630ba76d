/** Shared by the webhook's unit tests: one webhook configuration, a ServiceAccount table, review plumbing. */
import { applyPatch, type Operation } from 'rfc6902';
import { review, type ReviewDeps, type ReviewResult } from '../../../webhook/admission.js';
import { loadWebhookConfig } from '../../../webhook/config.js';
import type { ServiceAccountView } from '../../../webhook/inject/aws-identity.js';

export const TEST_ENV = {
  VAULT_IRSA_WEBHOOK_VAULT_ADDR: 'https://vault.example.com:8200',
  VAULT_IRSA_WEBHOOK_ALLOWED_VAULT_ADDRS: 'https://vault-b.example.com:8200',
  VAULT_IRSA_WEBHOOK_IAM_SERVER_ID: 'vault.example.com',
  VAULT_IRSA_WEBHOOK_SIDECAR_IMAGE: 'ghcr.io/vault-irsa/sidecar:test',
  VAULT_IRSA_WEBHOOK_KUBERNETES: 'off',
};
export const TEST_CONFIG = loadWebhookConfig(TEST_ENV);

/** namespace/name → annotations */
export const SERVICE_ACCOUNTS: Record<string, Record<string, string>> = {
  'demo/default': {},
  'demo/app': {},
  'demo/irsa-app': {
    'eks.amazonaws.com/role-arn': 'arn:aws:iam::111122223333:role/irsa-app',
    'eks.amazonaws.com/audience': 'sts.amazonaws.com',
    'eks.amazonaws.com/token-expiration': '3600',
    'eks.amazonaws.com/sts-regional-endpoints': 'true',
  },
  'demo/bad-arn': { 'eks.amazonaws.com/role-arn': 'role/app' },
};

export async function lookupFromTable(namespace: string, name: string): Promise<ServiceAccountView> {
  const a = SERVICE_ACCOUNTS[`${namespace}/${name}`];
  return a ? { status: 'found', annotations: { ...a } } : { status: 'not_found' };
}

export const DEPS: ReviewDeps = { defaults: TEST_CONFIG, lookupServiceAccount: lookupFromTable };

let n = 0;
export function admissionReview(
  pod: unknown,
  opts: { operation?: string; namespace?: string; uid?: string } = {},
): Record<string, unknown> {
  const md = (pod as { metadata?: { namespace?: string } } | null)?.metadata;
  return {
    apiVersion: 'admission.k8s.io/v1',
    kind: 'AdmissionReview',
    request: {
      uid: opts.uid ?? `uid-${++n}`,
      kind: { group: '', version: 'v1', kind: 'Pod' },
      resource: { group: '', version: 'v1', resource: 'pods' },
      requestKind: { group: '', version: 'v1', kind: 'Pod' },
      operation: opts.operation ?? 'CREATE',
      namespace: opts.namespace ?? md?.namespace ?? 'demo',
      userInfo: { username: 'system:serviceaccount:kube-system:replicaset-controller' },
      object: pod,
      oldObject: null,
      dryRun: false,
    },
  };
}

export interface ResponseView {
  uid: string;
  allowed: boolean;
  ops: Operation[];
  warnings: string[];
  status?: { code?: number; message?: string };
}

export function responseOf(result: ReviewResult): ResponseView {
  const r = (result.body as { response: Record<string, unknown> }).response;
  const ops =
    typeof r.patch === 'string' ? (JSON.parse(Buffer.from(r.patch, 'base64').toString('utf8')) as Operation[]) : [];
  return {
    uid: r.uid as string,
    allowed: r.allowed as boolean,
    ops,
    warnings: (r.warnings as string[] | undefined) ?? [],
    ...(r.status ? { status: r.status } : {}),
  };
}

/** The pod Kubernetes would store: the original with the response's patch applied. Throws on a bad patch. */
export function applyOps<T>(pod: T, ops: Operation[]): T {
  const copy = structuredClone(pod);
  const errors = applyPatch(copy, ops).filter((e) => e !== null);
  if (errors.length > 0) throw new Error(`patch did not apply: ${errors.map((e) => String(e)).join('; ')}`);
  return copy;
}

export async function admit(
  pod: unknown,
  deps: ReviewDeps = DEPS,
): Promise<{ result: ReviewResult; response: ResponseView }> {
  const result = await review(admissionReview(pod), deps);
  return { result, response: responseOf(result) };
}
