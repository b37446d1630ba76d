/**
 * The Helm chart without a helm binary: values against the schema, template references against values, template
 * syntax balance, and the settings the contract fixes. chart-helm.test.ts renders it for real where helm exists.
 */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { Ajv } from 'ajv';
import { parse } from 'yaml';
import { CHART, ENV_FROM_VALUES, at, hasPath, isObj, loadValues, read, type Obj } from './ship-helpers.js';

const schema = JSON.parse(read('charts/vault-irsa/values.schema.json')) as Obj;
const ajv = new Ajv({ allErrors: true, strict: true, allowUnionTypes: true });
const validate = ajv.compile(schema);

const templateFiles = readdirSync(join(CHART, 'templates')).filter((f) => /\.(ya?ml|tpl|txt)$/.test(f));
const templates: Record<string, string> = Object.fromEntries(
  templateFiles.map((f) => [f, read(`charts/vault-irsa/templates/${f}`)]),
);

const clone = <T>(v: T): T => structuredClone(v);

function withValue(path: string, value: unknown): Obj {
  const v = clone(loadValues());
  const parts = path.split('.');
  let cur: Obj = v;
  for (const p of parts.slice(0, -1)) {
    if (!isObj(cur[p])) cur[p] = {};
    cur = cur[p] as Obj;
  }
  cur[parts[parts.length - 1] as string] = value;
  return v;
}

function errorsOf(values: Obj): string {
  return validate(values) ? '' : ajv.errorsText(validate.errors);
}

describe('values.yaml and values.schema.json', () => {
  test('the default values validate', () => {
    expect(errorsOf(loadValues())).toBe('');
  });

  test.each<[string, unknown]>([
    ['webhook.failurePolicy', 'Maybe'],
    ['sidecar.mode', 'foo'],
    ['webhook.timeoutSeconds', 60],
    ['webhook.timeoutSeconds', '5'],
    ['webhook.reinvocationPolicy', 'Always'],
    ['webhook.replicas', 0],
    ['webhook.containerPort', 443],
    ['webhook.kubernetes', 'on'],
    ['webhook.logLevel', 'verbose'],
    ['vault.addr', 'vault.example.com:8200'],
    ['vault.addr', 'https://user:pw@vault.example.com'],
    ['vault.allowedAddrs', ['ftp://vault']],
    ['vault.iamServerId', 'has space'],
    ['vault.caConfigMap', 'Bad_Name'],
    ['aws.stsRegion', 'europe'],
    ['aws.region', 'us_east_1'],
    ['aws.stsEndpointUrl', 'sts.amazonaws.com'],
    ['sidecar.resources.requests.memory', 'lots'],
    ['sidecar.image.pullPolicy', 'Sometimes'],
    ['sidecar.image.repository', ''],
    ['tls.mode', 'letsencrypt'],
    ['tls.certManager.duration', '90 days'],
    ['tls.certManager.issuerRef.kind', 'Vault'],
    ['webhook.excludedNamespaces', ['Kube_System']],
    ['webhook.failurepolicy', 'Fail'],
    ['unknownTopLevel', true],
  ])('rejects %s = %j', (path, value) => {
    expect(errorsOf(withValue(path, value))).not.toBe('');
  });

  test('tls.mode=secret needs the Secret name and its CA bundle', () => {
    const v = withValue('tls.mode', 'secret');
    expect(errorsOf(v)).not.toBe('');
    const ok = withValue('tls.mode', 'secret');
    (ok.tls as Obj).secret = {
      name: 'my-webhook-tls',
      caBundle: Buffer.from('-----BEGIN CERTIFICATE-----').toString('base64'),
    };
    expect(errorsOf(ok)).toBe('');
  });

  test('accepts the documented alternatives', () => {
    for (const [path, value] of [
      ['webhook.failurePolicy', 'Ignore'],
      ['sidecar.mode', 'classic'],
      ['tls.mode', 'certManager'],
      ['vault.allowedAddrs', ['https://vault-b.example.com:8200', 'http://127.0.0.1:8200']],
      ['aws.stsRegion', 'eu-west-1'],
      ['aws.region', 'us-gov-west-1'],
      ['sidecar.resources.limits.cpu', '200m'],
      ['webhook.kubernetes', 'off'],
      ['global', { imageRegistry: 'x' }],
    ] as Array<[string, unknown]>) {
      expect([path, errorsOf(withValue(path, value))]).toEqual([path, '']);
    }
  });

  test('every value in values.yaml carries a comment (on itself or on the block it belongs to)', () => {
    const lines = read('charts/vault-irsa/values.yaml').split('\n');
    const stack: Array<{ indent: number; key: string; commented: boolean }> = [];
    const uncommented: string[] = [];
    lines.forEach((line, i) => {
      const m = /^(\s*)([A-Za-z0-9_]+):/.exec(line);
      if (!m || m[1] === undefined || m[2] === undefined) return;
      const indent = m[1].length;
      while (stack.length > 0 && (stack[stack.length - 1] as { indent: number }).indent >= indent) stack.pop();
      const prev = (lines[i - 1] ?? '').trim();
      const commented = prev.startsWith('#') || /#\s*\S/.test(line.slice(m[0].length));
      const inherited = stack.some((s) => s.commented);
      stack.push({ indent, key: m[2], commented });
      const isLeaf = !/:\s*$/.test(line);
      if (isLeaf && !commented && !inherited) uncommented.push(stack.map((s) => s.key).join('.'));
    });
    expect(uncommented).toEqual([]);
  });

  test('failurePolicy is explained: what Ignore and what Fail cost', () => {
    const text = read('charts/vault-irsa/values.yaml');
    const block = text.slice(
      text.indexOf('What the API server does when it cannot reach'),
      text.indexOf('failurePolicy: Fail'),
    );
    expect(block).toMatch(/"Fail"/);
    expect(block).toMatch(/"Ignore"/);
    expect(block).toMatch(/without (the|its) sidecar/);
    expect(block).toMatch(/cannot be created/);
  });

  test('defaults the contract and the brief fix', () => {
    const v = loadValues();
    expect(at(v, 'webhook.image.repository')).toBe('ghcr.io/vault-irsa/webhook');
    expect(at(v, 'sidecar.image.repository')).toBe('ghcr.io/vault-irsa/sidecar');
    expect(at(v, 'webhook.image.tag')).toBe('');
    expect(at(v, 'sidecar.image.tag')).toBe('');
    expect(at(v, 'webhook.replicas')).toBe(2);
    expect(at(v, 'webhook.containerPort')).toBe(8443);
    expect(at(v, 'sidecar.mode')).toBe('native');
    expect(at(v, 'aws.stsRegion')).toBe('us-east-1');
    expect(at(v, 'webhook.reinvocationPolicy')).toBe('IfNeeded');
    expect(at(v, 'webhook.excludedNamespaces')).toContain('kube-system');
    const timeout = at(v, 'webhook.timeoutSeconds');
    expect(typeof timeout === 'number' && timeout >= 1 && timeout <= 10).toBe(true);
  });
});

describe('Chart.yaml', () => {
  test('is a v2 application chart whose appVersion is the package version', () => {
    const chart = parse(read('charts/vault-irsa/Chart.yaml')) as Obj;
    const pkg = JSON.parse(read('package.json')) as Obj;
    expect(chart.apiVersion).toBe('v2');
    expect(chart.name).toBe('vault-irsa');
    expect(chart.type).toBe('application');
    expect(String(chart.version)).toMatch(/^[0-9]+\.[0-9]+\.[0-9]+/);
    expect(chart.appVersion).toBe(pkg.version);
    expect(chart.appVersion).toBe('0.1.0');
  });
});

describe('templates', () => {
  test('the chart has the templates the install needs', () => {
    for (const f of [
      '_helpers.tpl',
      'NOTES.txt',
      'deployment.yaml',
      'service.yaml',
      'serviceaccount.yaml',
      'rbac.yaml',
      'poddisruptionbudget.yaml',
      'mutatingwebhookconfiguration.yaml',
      'certmanager.yaml',
    ])
      expect(templateFiles).toContain(f);
  });

  test('every .Values reference exists in values.yaml', () => {
    const values = loadValues();
    const missing: string[] = [];
    for (const [file, text] of Object.entries(templates)) {
      for (const m of text.matchAll(/\.Values((?:\.[A-Za-z_][A-Za-z0-9_]*)+)/g)) {
        const path = (m[1] as string).slice(1);
        if (!hasPath(values, path)) missing.push(`${file}: .Values.${path}`);
      }
    }
    expect(missing).toEqual([]);
  });

  test('every value in values.yaml is used by a template (no dead settings)', () => {
    const refs = new Set<string>();
    for (const text of Object.values(templates)) {
      for (const m of text.matchAll(/\.Values((?:\.[A-Za-z_][A-Za-z0-9_]*)+)/g)) refs.add((m[1] as string).slice(1));
    }
    const leaves: string[] = [];
    const rec = (o: unknown, prefix: string) => {
      if (isObj(o) && Object.keys(o).length > 0)
        for (const [k, v] of Object.entries(o)) rec(v, prefix ? `${prefix}.${k}` : k);
      else leaves.push(prefix);
    };
    rec(loadValues(), '');
    const unused = leaves.filter((leaf) => {
      const parts = leaf.split('.');
      return !parts.some((_, i) => refs.has(parts.slice(0, i + 1).join('.')));
    });
    expect(unused).toEqual([]);
  });

  test.each(templateFiles)('%s: {{ }} pairs and block/end nesting balance', (file) => {
    const text = templates[file] as string;
    const opens = (text.match(/\{\{/g) ?? []).length;
    const closes = (text.match(/\}\}/g) ?? []).length;
    expect(closes).toBe(opens);
    const actions = [...text.matchAll(/\{\{-?\s*([\s\S]*?)\s*-?\}\}/g)].map((m) => (m[1] as string).trim());
    expect(actions.length).toBe(opens);
    const stack: string[] = [];
    for (const a of actions) {
      if (a.startsWith('/*')) {
        expect(a.endsWith('*/')).toBe(true);
        continue;
      }
      const kw = /^([a-z]+)\b/.exec(a)?.[1] ?? '';
      if (['if', 'range', 'with', 'define', 'block'].includes(kw)) stack.push(kw);
      else if (kw === 'else') expect(['if', 'with', 'range']).toContain(stack[stack.length - 1]);
      else if (kw === 'end') expect(stack.pop()).toBeDefined();
    }
    expect(stack).toEqual([]);
  });

  test('the webhook env in the deployment template reads the values the install test expects', () => {
    const text = templates['deployment.yaml'] as string;
    const helpers = templates['_helpers.tpl'] as string;
    for (const e of ENV_FROM_VALUES) {
      const idx = text.indexOf(`- name: ${e.name}\n`);
      expect([e.name, idx >= 0]).toEqual([e.name, true]);
      // the entry, plus a `with` guard just above it, plus any helper it includes
      let window = text.slice(
        Math.max(0, text.lastIndexOf('\n', text.lastIndexOf('\n', idx) - 1)),
        text.indexOf('\n', text.indexOf('value:', idx)),
      );
      for (const inc of window.matchAll(/include "([^"]+)"/g)) {
        const start = helpers.indexOf(`{{- define "${inc[1]}" -}}`);
        window += helpers.slice(start, helpers.indexOf('{{- end -}}', start));
      }
      for (const p of e.paths) expect([e.name, window.includes(`.Values.${p}`)]).toEqual([e.name, true]);
    }
  });

  test('the MutatingWebhookConfiguration template fixes what the contract requires', () => {
    const t = templates['mutatingwebhookconfiguration.yaml'] as string;
    expect(t).toMatch(/admissionReviewVersions: \["v1"\]/);
    expect(t).toMatch(/sideEffects: None/);
    expect(t).toMatch(/failurePolicy: \{\{ \.Values\.webhook\.failurePolicy \}\}/);
    expect(t).toMatch(/timeoutSeconds: \{\{ \.Values\.webhook\.timeoutSeconds \}\}/);
    expect(t).toMatch(/reinvocationPolicy: \{\{ \.Values\.webhook\.reinvocationPolicy \}\}/);
    expect(t).toMatch(/operations: \["CREATE"\]/);
    expect(t).toMatch(/resources: \["pods"\]/);
    expect(t).toMatch(/path: \/mutate/);
    expect(t).toContain(
      `expression: "has(object.metadata.annotations) && 'vault-irsa.io/role' in object.metadata.annotations"`,
    );
    // the selectors live in _helpers.tpl, shared with the ValidatingAdmissionPolicy; the release namespace joins the excluded ones
    expect(t).toContain('include "vault-irsa.namespaceSelector" .');
    expect(t).toContain('include "vault-irsa.objectSelector" .');
    const h = templates['_helpers.tpl'] as string;
    expect(h).toMatch(/- \{\{ \.Release\.Namespace \| quote \}\}/);
    expect(h).toMatch(/key: kubernetes\.io\/metadata\.name\s+operator: NotIn/);
    expect(h).toMatch(/key: vault-irsa\.io\/webhook-pod\s+operator: NotIn/);
    // TLS: chart-made pair kept across upgrades, cert-manager injection, or a given caBundle
    expect(t).toMatch(/lookup "v1" "Secret" \.Release\.Namespace/);
    expect(t).toMatch(/genCA/);
    expect(t).toMatch(/genSignedCert/);
    expect(t).toMatch(/cert-manager\.io\/inject-ca-from/);
    expect(t).toMatch(/\.Values\.tls\.secret\.caBundle/);
  });

  test('the deployment template runs the webhook locked down, with HTTPS probes on /healthz and /readyz', () => {
    const t = templates['deployment.yaml'] as string;
    expect(t).toMatch(/readOnlyRootFilesystem: true/);
    expect(t).toMatch(/runAsNonRoot: true/);
    expect(t).toMatch(/runAsUser: 65532/);
    expect(t).toMatch(/allowPrivilegeEscalation: false/);
    expect(t).toMatch(/drop: \["ALL"\]/);
    expect(t).toMatch(/type: RuntimeDefault/);
    expect(t).toMatch(/readinessProbe:\s+httpGet:\s+path: \/readyz\s+port: https\s+scheme: HTTPS/);
    expect(t).toMatch(/livenessProbe:\s+httpGet:\s+path: \/healthz\s+port: https\s+scheme: HTTPS/);
    expect(t).toMatch(/topologySpreadConstraints:/);
    expect(t).toMatch(/mountPath: \/etc\/vault-irsa\/tls/);
    expect(t).not.toMatch(/^\s*subPath:/m);
  });

  test('RBAC grants read access to ServiceAccounts and nothing else', () => {
    const t = templates['rbac.yaml'] as string;
    const rules = t.slice(t.indexOf('rules:'), t.indexOf('---'));
    expect(rules).toMatch(/resources: \["serviceaccounts"\]/);
    expect(rules).toMatch(/verbs: \["get", "list", "watch"\]/);
    expect((rules.match(/resources:/g) ?? []).length).toBe(1);
    expect(rules).not.toMatch(/secrets/i);
  });
});
