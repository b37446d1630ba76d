/**
 * manifests/install.yaml: every object is valid Kubernetes, and the webhook settings equal the chart's defaults
 * (the file is the chart rendered with values.yaml as release "vault-irsa" in namespace "vault-irsa", with
 * tls.mode=auto, so it needs no cert-manager).
 */
import { Namespace } from 'kubernetes-models/v1/Namespace';
import { Secret } from 'kubernetes-models/v1/Secret';
import { Role } from 'kubernetes-models/rbac.authorization.k8s.io/v1/Role';
import { RoleBinding } from 'kubernetes-models/rbac.authorization.k8s.io/v1/RoleBinding';
import { Service } from 'kubernetes-models/v1/Service';
import { ServiceAccount } from 'kubernetes-models/v1/ServiceAccount';
import { Deployment } from 'kubernetes-models/apps/v1/Deployment';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1/PodDisruptionBudget';
import { ClusterRole } from 'kubernetes-models/rbac.authorization.k8s.io/v1/ClusterRole';
import { ClusterRoleBinding } from 'kubernetes-models/rbac.authorization.k8s.io/v1/ClusterRoleBinding';
import { MutatingWebhookConfiguration } from 'kubernetes-models/admissionregistration.k8s.io/v1/MutatingWebhookConfiguration';
import { ValidatingAdmissionPolicy } from 'kubernetes-models/admissionregistration.k8s.io/v1/ValidatingAdmissionPolicy';
import { ValidatingAdmissionPolicyBinding } from 'kubernetes-models/admissionregistration.k8s.io/v1/ValidatingAdmissionPolicyBinding';
import { ENV as WEBHOOK_ENV, loadWebhookConfig } from '../../../webhook/config.js';
import {
  ENV_FROM_VALUES,
  appVersion,
  at,
  expectedWebhookEnv,
  findKind,
  installValues,
  isObj,
  loadDocs,
  str,
  type Obj,
} from './ship-helpers.js';

const NAMESPACE = 'vault-irsa';
const NAME = 'vault-irsa';

interface Validatable {
  validate(): void;
}
const MODELS: Record<string, (o: Obj) => Validatable> = {
  'v1/Namespace': (o) => new Namespace(o),
  'v1/Secret': (o) => new Secret(o),
  'rbac.authorization.k8s.io/v1/Role': (o) => new Role(o),
  'rbac.authorization.k8s.io/v1/RoleBinding': (o) => new RoleBinding(o as never),
  'v1/Service': (o) => new Service(o),
  'v1/ServiceAccount': (o) => new ServiceAccount(o),
  'apps/v1/Deployment': (o) => new Deployment(o),
  'policy/v1/PodDisruptionBudget': (o) => new PodDisruptionBudget(o),
  'rbac.authorization.k8s.io/v1/ClusterRole': (o) => new ClusterRole(o),
  'rbac.authorization.k8s.io/v1/ClusterRoleBinding': (o) => new ClusterRoleBinding(o as never),
  'admissionregistration.k8s.io/v1/MutatingWebhookConfiguration': (o) => new MutatingWebhookConfiguration(o),
  'admissionregistration.k8s.io/v1/ValidatingAdmissionPolicy': (o) => new ValidatingAdmissionPolicy(o),
  'admissionregistration.k8s.io/v1/ValidatingAdmissionPolicyBinding': (o) => new ValidatingAdmissionPolicyBinding(o),
};

const docs = loadDocs('manifests/install.yaml');
const values = installValues();

function webhookOf(mwc: Obj): Obj {
  const hooks = mwc.webhooks;
  if (!Array.isArray(hooks) || hooks.length !== 1 || !isObj(hooks[0])) throw new Error('expected exactly one webhook');
  return hooks[0];
}

function container(dep: Obj): Obj {
  const cs = at(dep, 'spec.template.spec.containers');
  if (!Array.isArray(cs) || cs.length !== 1 || !isObj(cs[0])) throw new Error('expected exactly one container');
  return cs[0];
}

describe('manifests/install.yaml', () => {
  test('parses as YAML documents, each a named Kubernetes object', () => {
    expect(docs.length).toBeGreaterThanOrEqual(10);
    for (const d of docs) {
      expect(typeof d.apiVersion).toBe('string');
      expect(typeof d.kind).toBe('string');
      expect(typeof at(d, 'metadata.name')).toBe('string');
    }
  });

  test('every core object validates against the Kubernetes schema (kubernetes-models)', () => {
    const seen = new Set<string>();
    for (const d of docs) {
      const key = `${str(d.apiVersion)}/${str(d.kind)}`;
      if (str(d.apiVersion).startsWith('cert-manager.io/')) continue;
      const make = MODELS[key];
      expect([key, make !== undefined]).toEqual([key, true]);
      expect(() => (make as (o: Obj) => Validatable)(d).validate()).not.toThrow();
      seen.add(str(d.kind));
    }
    for (const kind of [
      'Namespace',
      'ServiceAccount',
      'ClusterRole',
      'ClusterRoleBinding',
      'Service',
      'Deployment',
      'PodDisruptionBudget',
      'MutatingWebhookConfiguration',
      'ValidatingAdmissionPolicy',
      'ValidatingAdmissionPolicyBinding',
      'Secret',
      'Role',
      'RoleBinding',
    ]) {
      expect(seen).toContain(kind);
    }
  });

  test('a broken object would be caught by that validation', () => {
    const dep = structuredClone(findKind(docs, 'Deployment'));
    (container(dep).ports as Obj[])[0] = { containerPort: 'https' };
    expect(() => new Deployment(dep as never).validate()).toThrow();
    const mwc = structuredClone(findKind(docs, 'MutatingWebhookConfiguration'));
    webhookOf(mwc).failurePolicy = 'Maybe';
    expect(() => new MutatingWebhookConfiguration(mwc as never).validate()).toThrow();
  });

  test('namespaced objects live in the vault-irsa namespace', () => {
    for (const d of docs) {
      if (
        [
          'Namespace',
          'ClusterRole',
          'ClusterRoleBinding',
          'MutatingWebhookConfiguration',
          'ValidatingAdmissionPolicy',
          'ValidatingAdmissionPolicyBinding',
        ].includes(str(d.kind))
      ) {
        expect(at(d, 'metadata.namespace')).toBeUndefined();
      } else {
        expect([d.kind, at(d, 'metadata.namespace')]).toEqual([d.kind, NAMESPACE]);
      }
    }
  });

  test('webhook registration equals the chart defaults', () => {
    const mwc = findKind(docs, 'MutatingWebhookConfiguration', NAME);
    const hook = webhookOf(mwc);
    expect(hook.admissionReviewVersions).toEqual(['v1']);
    expect(hook.sideEffects).toBe('None');
    expect(hook.failurePolicy).toBe(at(values, 'webhook.failurePolicy'));
    expect(hook.timeoutSeconds).toBe(at(values, 'webhook.timeoutSeconds'));
    expect(hook.reinvocationPolicy).toBe(at(values, 'webhook.reinvocationPolicy'));
    expect(hook.rules).toEqual([
      { operations: ['CREATE'], apiGroups: [''], apiVersions: ['v1'], resources: ['pods'], scope: 'Namespaced' },
    ]);
    expect(at(hook, 'clientConfig.service')).toEqual({
      name: NAME,
      namespace: NAMESPACE,
      path: '/mutate',
      port: at(values, 'webhook.servicePort'),
    });
    const excluded = [...(at(values, 'webhook.excludedNamespaces') as string[])];
    if (!excluded.includes(NAMESPACE)) excluded.push(NAMESPACE);
    expect(hook.namespaceSelector).toEqual({
      matchExpressions: [{ key: 'kubernetes.io/metadata.name', operator: 'NotIn', values: excluded }],
    });
    expect(hook.objectSelector).toEqual({
      matchExpressions: [{ key: 'vault-irsa.io/webhook-pod', operator: 'NotIn', values: ['true'] }],
    });
    if (at(values, 'webhook.matchConditions.enabled') === true) {
      expect(hook.matchConditions).toEqual([
        {
          name: 'has-vault-irsa-role',
          expression: "has(object.metadata.annotations) && 'vault-irsa.io/role' in object.metadata.annotations",
        },
      ]);
    } else {
      expect(hook.matchConditions).toBeUndefined();
    }
  });

  test("the objectSelector excludes the webhook's own pods and no others", () => {
    const dep = findKind(docs, 'Deployment', NAME);
    const labels = at(dep, 'spec.template.metadata.labels') as Obj;
    expect(labels['vault-irsa.io/webhook-pod']).toBe('true');
  });

  test('TLS mode auto: no cert-manager, no caBundle (the webhook writes it), no mounted certificate, an empty Secret', () => {
    expect(docs.some((d) => str(d.apiVersion).startsWith('cert-manager.io/'))).toBe(false);
    const mwc = findKind(docs, 'MutatingWebhookConfiguration', NAME);
    expect(at(webhookOf(mwc), 'clientConfig.caBundle')).toBeUndefined();
    expect(at(mwc, 'metadata.annotations')).toBeUndefined();
    const dep = findKind(docs, 'Deployment', NAME);
    expect(at(dep, 'spec.template.spec.volumes')).toBeUndefined();
    expect(container(dep).volumeMounts).toBeUndefined();
    expect(at(dep, 'spec.template.spec.automountServiceAccountToken')).toBe(true);
    const secret = findKind(docs, 'Secret', `${NAME}-auto-tls`);
    // Opaque and without data: kubectl apply never overwrites what the webhook wrote; no create permission needed
    expect([secret.type, secret.data, secret.stringData]).toEqual(['Opaque', undefined, undefined]);
    const env = Object.fromEntries(
      (container(dep).env as Array<{ name: string; value: string }>).map((e) => [e.name, e.value]),
    );
    expect(env).toMatchObject({
      VAULT_IRSA_WEBHOOK_TLS_MODE: 'auto',
      VAULT_IRSA_WEBHOOK_NAMESPACE: NAMESPACE,
      VAULT_IRSA_WEBHOOK_TLS_SECRET: `${NAME}-auto-tls`,
      VAULT_IRSA_WEBHOOK_SERVICE_NAME: at(findKind(docs, 'Service', NAME), 'metadata.name'),
      VAULT_IRSA_WEBHOOK_CONFIGURATION_NAME: at(mwc, 'metadata.name'),
    });
  });

  test('TLS mode auto RBAC: get and update on that one Secret and that one webhook configuration, nothing else', () => {
    const role = findKind(docs, 'Role', `${NAME}-tls`);
    expect(role.rules).toEqual([
      { apiGroups: [''], resources: ['secrets'], resourceNames: [`${NAME}-auto-tls`], verbs: ['get', 'update'] },
    ]);
    const clusterRole = findKind(docs, 'ClusterRole', `${NAME}-tls`);
    expect(clusterRole.rules).toEqual([
      {
        apiGroups: ['admissionregistration.k8s.io'],
        resources: ['mutatingwebhookconfigurations'],
        resourceNames: [NAME],
        verbs: ['get', 'update'],
      },
    ]);
    for (const [kind, name] of [
      ['RoleBinding', `${NAME}-tls`],
      ['ClusterRoleBinding', `${NAME}-tls`],
    ] as const) {
      const b = findKind(docs, kind, name);
      expect(b.subjects).toEqual([{ kind: 'ServiceAccount', name: NAME, namespace: NAMESPACE }]);
      expect(at(b, 'roleRef.name')).toBe(`${NAME}-tls`);
      expect(at(b, 'roleRef.kind')).toBe(kind === 'RoleBinding' ? 'Role' : 'ClusterRole');
    }
    // no rule anywhere grants create, list or watch on Secrets
    for (const d of docs.filter((x) => x.kind === 'Role' || x.kind === 'ClusterRole')) {
      for (const r of d.rules as Obj[]) {
        if ((r.resources as string[]).includes('secrets')) expect(r.verbs).toEqual(['get', 'update']);
      }
    }
  });

  test('the webhook Deployment equals the chart defaults: image, replicas, env, port, probes, resources', () => {
    const dep = findKind(docs, 'Deployment', NAME);
    const c = container(dep);
    expect(at(dep, 'spec.replicas')).toBe(at(values, 'webhook.replicas'));
    expect(c.image).toBe(
      `${str(at(values, 'webhook.image.repository'))}:${str(at(values, 'webhook.image.tag')) || appVersion()}`,
    );
    expect(c.image).toBe('ghcr.io/vault-irsa/webhook:0.1.0');
    expect(c.imagePullPolicy).toBe(at(values, 'webhook.image.pullPolicy'));
    expect(c.env).toEqual(expectedWebhookEnv(values));
    expect(c.ports).toEqual([{ name: 'https', containerPort: at(values, 'webhook.containerPort'), protocol: 'TCP' }]);
    expect(c.ports).toEqual([{ name: 'https', containerPort: 8443, protocol: 'TCP' }]);
    expect(c.resources).toEqual(at(values, 'webhook.resources'));
    for (const [probe, path] of [
      ['startupProbe', '/healthz'],
      ['readinessProbe', '/readyz'],
      ['livenessProbe', '/healthz'],
    ] as const) {
      expect([probe, at(c, `${probe}.httpGet`)]).toEqual([probe, { path, port: 'https', scheme: 'HTTPS' }]);
    }
    const svc = findKind(docs, 'Service', NAME);
    expect(at(svc, 'spec.ports')).toEqual([
      { name: 'https', port: at(values, 'webhook.servicePort'), targetPort: 'https', protocol: 'TCP' },
    ]);
    expect(at(svc, 'spec.selector')).toEqual(at(dep, 'spec.selector.matchLabels'));
  });

  test('the sidecar image the webhook injects is the chart default', () => {
    const env = container(findKind(docs, 'Deployment', NAME)).env as Array<{ name: string; value: string }>;
    expect(env.find((e) => e.name === 'VAULT_IRSA_WEBHOOK_SIDECAR_IMAGE')?.value).toBe(
      'ghcr.io/vault-irsa/sidecar:0.1.0',
    );
  });

  test('the webhook runs non-root, read-only, without privileges, spread, with a PodDisruptionBudget', () => {
    const dep = findKind(docs, 'Deployment', NAME);
    const c = container(dep);
    expect(at(dep, 'spec.template.spec.securityContext')).toEqual({
      runAsNonRoot: true,
      runAsUser: 65532,
      runAsGroup: 65532,
      fsGroup: 65532,
      seccompProfile: { type: 'RuntimeDefault' },
    });
    expect(c.securityContext).toEqual({
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      runAsNonRoot: true,
      capabilities: { drop: ['ALL'] },
    });
    const spread = at(dep, 'spec.template.spec.topologySpreadConstraints') as Obj[];
    expect(spread.map((s) => s.topologyKey)).toEqual(['kubernetes.io/hostname', 'topology.kubernetes.io/zone']);
    for (const s of spread) {
      expect(s.whenUnsatisfiable).toBe(at(values, 'webhook.topologySpread.whenUnsatisfiable'));
      expect(at(s, 'labelSelector.matchLabels')).toEqual(at(dep, 'spec.selector.matchLabels'));
    }
    const pdb = findKind(docs, 'PodDisruptionBudget', NAME);
    expect(at(pdb, 'spec.minAvailable')).toBe(at(values, 'webhook.podDisruptionBudget.minAvailable'));
    expect(at(pdb, 'spec.selector.matchLabels')).toEqual(at(dep, 'spec.selector.matchLabels'));
    expect(at(dep, 'spec.template.spec.serviceAccountName')).toBe(NAME);
  });

  test('RBAC: the webhook ServiceAccount may get/list/watch ServiceAccounts, nothing more', () => {
    const role = findKind(docs, 'ClusterRole', NAME);
    expect(role.rules).toEqual([{ apiGroups: [''], resources: ['serviceaccounts'], verbs: ['get', 'list', 'watch'] }]);
    const binding = findKind(docs, 'ClusterRoleBinding', NAME);
    expect(binding.subjects).toEqual([{ kind: 'ServiceAccount', name: NAME, namespace: NAMESPACE }]);
    expect(at(binding, 'roleRef.name')).toBe(NAME);
  });

  test("the webhook's own config loader accepts this env and reads the chart defaults from it", () => {
    const known = new Set<string>(Object.values(WEBHOOK_ENV));
    for (const e of ENV_FROM_VALUES) expect([e.name, known.has(e.name)]).toEqual([e.name, true]);
    const env = Object.fromEntries(
      (container(findKind(docs, 'Deployment', NAME)).env as Array<{ name: string; value: string }>).map((e) => [
        e.name,
        e.value,
      ]),
    );
    const cfg = loadWebhookConfig(env);
    expect(cfg.port).toBe(at(values, 'webhook.containerPort'));
    expect(cfg.vaultAddr.replace(/\/$/, '')).toBe(at(values, 'vault.addr'));
    expect(cfg.sidecarImage).toBe('ghcr.io/vault-irsa/sidecar:0.1.0');
    expect(cfg.sidecarMode).toBe(at(values, 'sidecar.mode'));
    expect(cfg.stsRegion).toBe(at(values, 'aws.stsRegion'));
    expect(cfg.kubernetes).toBe(at(values, 'webhook.kubernetes'));
    expect(cfg.tlsMode).toBe('auto');
    expect(cfg.tlsAuto).toMatchObject({
      namespace: NAMESPACE,
      secretName: `${NAME}-auto-tls`,
      serviceName: NAME,
      webhookConfigurationName: NAME,
    });
    const r = at(values, 'sidecar.resources') as Obj;
    const expected: Record<string, string> = {};
    for (const [field, path] of [
      ['cpuRequest', 'requests.cpu'],
      ['cpuLimit', 'limits.cpu'],
      ['memoryRequest', 'requests.memory'],
      ['memoryLimit', 'limits.memory'],
    ] as const) {
      const v = str(at(r, path));
      if (v) expected[field] = v;
    }
    expect(cfg.resources).toEqual(expected);
  });
});
