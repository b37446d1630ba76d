/**
 * The optional NetworkPolicy for the webhook pods: its values against the schema, the template off by default,
 * and (where helm exists) the rendered policy: ingress on the HTTPS port only, from anywhere unless CIDRs or
 * namespaces are given, selecting exactly the webhook's pods.
 */
import { Ajv } from 'ajv';
import { NetworkPolicy } from 'kubernetes-models/networking.k8s.io/v1/NetworkPolicy';
import { kubeTool } from '../../support/kube-tools.js';
import { at, helmTemplate, loadValues, read, type Obj } from './ship-helpers.js';

const schema = JSON.parse(read('charts/vault-irsa/values.schema.json')) as Obj;
const ajv = new Ajv({ allErrors: true, strict: true, allowUnionTypes: true });
const validate = ajv.compile(schema);
const template = read('charts/vault-irsa/templates/networkpolicy.yaml');

function withNetworkPolicy(np: unknown): Obj {
  const v = structuredClone(loadValues());
  (v.webhook as Obj).networkPolicy = np;
  return v;
}

test('off by default, and the whole template sits behind the switch', () => {
  expect(at(loadValues(), 'webhook.networkPolicy.enabled')).toBe(false);
  const body = template.replace(/^\{\{-? \/\*[\s\S]*?\*\/ ?-?\}\}\n/, '');
  expect(body.startsWith('{{- if .Values.webhook.networkPolicy.enabled }}\n')).toBe(true);
  expect(body.trimEnd().endsWith('{{- end }}')).toBe(true);
});

test.each<[string, unknown, boolean]>([
  [
    'CIDRs and namespaces',
    { enabled: true, allowedCidrs: ['10.0.0.0/16', '192.168.1.7/32', 'fd00::/8'], allowedNamespaces: ['monitoring'] },
    true,
  ],
  ['nothing but the switch', { enabled: true }, true],
  ['an address without a prefix length', { enabled: true, allowedCidrs: ['10.0.0.0'] }, false],
  ['a hostname', { enabled: true, allowedCidrs: ['api.example.com/32'] }, false],
  ['a prefix past 32', { enabled: true, allowedCidrs: ['10.0.0.0/33'] }, false],
  ['a namespace that is not a DNS label', { enabled: true, allowedNamespaces: ['Kube_System'] }, false],
  ['an unknown key', { enabled: true, from: [] }, false],
  ['a string for the switch', { enabled: 'yes' }, false],
])('schema: %s', (_what, np, ok) => {
  expect(validate(withNetworkPolicy(np))).toBe(ok);
});

const HELM = kubeTool('helm');
const hasHelm = 'path' in HELM;
if (!('path' in HELM)) console.log(`skipped: NetworkPolicy rendering not checked: ${HELM.skip}`);
const withHelm = hasHelm ? describe : describe.skip;

function render(sets: string[]): Obj[] {
  if (!('path' in HELM)) throw new Error('helm is not available');
  return helmTemplate(HELM.path, sets);
}

withHelm('rendered', () => {
  test('not rendered by default', () => {
    expect(render([]).filter((d) => d.kind === 'NetworkPolicy')).toEqual([]);
  });

  test('enabled: ingress on the webhook port from anywhere, selecting the webhook pods', () => {
    const docs = render(['webhook.networkPolicy.enabled=true']);
    const np = docs.find((d) => d.kind === 'NetworkPolicy') as Obj;
    expect(() => new NetworkPolicy(np as never).validate()).not.toThrow();
    const deployment = docs.find((d) => d.kind === 'Deployment') as Obj;
    expect(at(np, 'spec.podSelector.matchLabels')).toEqual(at(deployment, 'spec.selector.matchLabels'));
    expect(at(np, 'spec.policyTypes')).toEqual(['Ingress']);
    expect(at(np, 'spec.ingress')).toEqual([{ ports: [{ port: 8443, protocol: 'TCP' }] }]);
  });

  test('CIDRs and namespaces restrict the sources', () => {
    const docs = render([
      'webhook.networkPolicy.enabled=true',
      'webhook.networkPolicy.allowedCidrs={10.0.0.0/16,10.1.0.0/16}',
      'webhook.networkPolicy.allowedNamespaces={monitoring}',
      'webhook.containerPort=9443',
    ]);
    const np = docs.find((d) => d.kind === 'NetworkPolicy') as Obj;
    expect(() => new NetworkPolicy(np as never).validate()).not.toThrow();
    expect(at(np, 'spec.ingress')).toEqual([
      {
        ports: [{ port: 9443, protocol: 'TCP' }],
        from: [
          { ipBlock: { cidr: '10.0.0.0/16' } },
          { ipBlock: { cidr: '10.1.0.0/16' } },
          { namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'monitoring' } } },
        ],
      },
    ]);
  });
});
