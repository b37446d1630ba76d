/**
 * The chart's monitoring objects (ServiceMonitor, PodMonitor, PrometheusRule, dashboard ConfigMap), the dashboard
 * JSON and the plain scrape configs, checked without helm; then rendered by a real helm where it exists (one
 * `skipped:` line where it does not).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PodMonitor } from '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/PodMonitor';
import { PrometheusRule } from '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/PrometheusRule';
import { ServiceMonitor } from '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/ServiceMonitor';
import { Ajv } from 'ajv';
import { parse } from 'yaml';
import { Metrics } from '../../../sidecar/metrics.js';
import { createMetrics } from '../../../webhook/metrics.js';
import { HEALTH_PORT_NAME, INJECTED_LABEL } from '../../../webhook/inject/names.js';
import { at, CHART, helmTemplate, isObj, loadValues, read, type Obj } from '../ship/ship-helpers.js';
import {
  chartRenderedRuleGroups,
  dashboard,
  dashboardTargets,
  DASHBOARD_FILE,
  hasHelm,
  helmPath,
  helmSkip,
  hasPromtool,
  labelNames,
  metricNames,
  run,
  SCRAPE_FILE,
  TARGET_LABELS,
} from './monitoring-helpers.js';

if (!hasHelm) console.log(`skipped: helm template of the monitoring objects: ${helmSkip}`);

const schema = JSON.parse(read('charts/vault-irsa/values.schema.json')) as Obj;
const ajv = new Ajv({ allErrors: true, strict: true, allowUnionTypes: true });
const validate = ajv.compile(schema);
const template = (f: string): string => read(`charts/vault-irsa/templates/${f}`);

function withMetrics(patch: Obj): Obj {
  const v = structuredClone(loadValues());
  v.metrics = { ...(v.metrics as Obj), ...patch };
  return v;
}

describe('monitoring values', () => {
  test('all four are off by default', () => {
    const v = loadValues();
    for (const k of ['serviceMonitor', 'podMonitor', 'prometheusRule', 'dashboard'])
      expect([k, at(v, `metrics.${k}.enabled`)]).toEqual([k, false]);
    expect(validate(v)).toBe(true);
  });

  test.each<[string, Obj]>([
    ['a scrape interval that is not a duration', { serviceMonitor: { enabled: true, interval: '30 seconds' } }],
    [
      'a `for:` that is not a duration',
      { prometheusRule: { enabled: true, for: { VaultIrsaSecretStale: 'ten minutes' } } },
    ],
    ['a `for:` for an alert that does not exist', { prometheusRule: { enabled: true, for: { VaultIrsaTypo: '5m' } } }],
    ['a namespace that is not a DNS label', { podMonitor: { enabled: true, namespaces: ['Team_A'] } }],
    ['an unknown key', { podmonitor: { enabled: true } }],
    ['enabled as a string', { dashboard: { enabled: 'yes' } }],
  ])('rejects %s', (_why, patch) => {
    expect(validate(withMetrics(patch))).toBe(false);
  });

  test('accepts the documented settings', () => {
    const v = withMetrics({
      serviceMonitor: {
        enabled: true,
        labels: { release: 'kps' },
        interval: '30s',
        tlsConfig: { insecureSkipVerify: true },
      },
      podMonitor: { enabled: true, labels: {}, interval: '1m', namespaces: ['team-a', 'team-b'] },
      prometheusRule: {
        enabled: true,
        labels: { release: 'kps' },
        for: { VaultIrsaSecretStale: '15m', VaultIrsaWebhookDown: '0' },
      },
      dashboard: { enabled: true, labels: {}, annotations: { grafana_folder: 'Vault' } },
    });
    expect([validate(v), ajv.errorsText(validate.errors)]).toEqual([true, 'No errors']);
  });
});

describe('monitoring templates', () => {
  test.each([
    ['servicemonitor.yaml', 'serviceMonitor'],
    ['podmonitor.yaml', 'podMonitor'],
    ['prometheusrule.yaml', 'prometheusRule'],
    ['dashboard-configmap.yaml', 'dashboard'],
  ])('%s renders nothing unless metrics.%s.enabled', (file, key) => {
    const t = template(file);
    const body = t.replace(/^\{\{- \/\*[\s\S]*?\*\/\}\}\n/, '');
    expect(body.startsWith(`{{- if .Values.metrics.${key}.enabled }}\n`)).toBe(true);
    expect(body.trimEnd().endsWith('{{- end }}')).toBe(true);
  });

  test('the PodMonitor selects the label the webhook sets on injected pods, on the sidecar health port’s name', () => {
    const t = template('podmonitor.yaml');
    expect(t).toContain(`matchLabels:\n      ${INJECTED_LABEL}: "true"`);
    expect(t).toContain(`- port: ${HEALTH_PORT_NAME}\n      path: /metrics`);
    expect(t).toMatch(/targetLabel: job\n\s+replacement: vault-irsa-sidecar/);
    expect(t).toMatch(/any: true/);
  });

  test('the ServiceMonitor scrapes the Service’s https port over TLS, verified, as job vault-irsa-webhook', () => {
    const t = template('servicemonitor.yaml');
    expect(template('service.yaml')).toMatch(/- name: https\n/);
    expect(t).toContain('- port: https\n      scheme: https\n      path: /metrics');
    expect(t).toContain('key: ca.crt');
    expect(t).toContain('serverName: {{ printf "%s.%s.svc" $fullname .Release.Namespace }}');
    expect(t).not.toMatch(/insecureSkipVerify/);
    expect(t).toMatch(/targetLabel: job\n\s+replacement: vault-irsa-webhook/);
  });

  test('the dashboard ConfigMap carries grafana_dashboard: "1" and the dashboard file', () => {
    const t = template('dashboard-configmap.yaml');
    expect(t).toContain('grafana_dashboard: "1"');
    expect(t).toContain(`.Files.Get "${DASHBOARD_FILE.replace('charts/vault-irsa/', '')}"`);
  });
});

describe('the Grafana dashboard', () => {
  const d = dashboard();
  const targets = dashboardTargets();

  test('is a dashboard with a Prometheus data source variable, every panel on it', () => {
    expect(d.uid).toBe('vault-irsa');
    expect(at(d, 'templating.list')).toEqual([
      expect.objectContaining({ name: 'datasource', type: 'datasource', query: 'prometheus' }),
    ]);
    for (const p of d.panels as Obj[])
      if (p.type !== 'row') expect([p.title, at(p, 'datasource.uid')]).toEqual([p.title, '${datasource}']);
    const ids = (d.panels as Obj[]).map((p) => p.id);
    expect(new Set(ids).size).toBe(ids.length);
  });

  test('shows what the issue lists', () => {
    const exprs = targets.map((t) => t.expr).join('\n');
    for (const m of [
      'vault_irsa_webhook_admissions_total',
      'vault_irsa_webhook_admission_duration_seconds_bucket',
      'vault_irsa_logins_total',
      'vault_irsa_token_renewals_total',
      'vault_irsa_lease_renewals_total',
      'vault_irsa_secret_stale',
      'vault_irsa_secret_reads_total',
      'vault_irsa_vault_request_duration_seconds_bucket',
    ])
      expect([m, exprs.includes(m)]).toEqual([m, true]);
    expect(exprs).toMatch(/sum by \(le, outcome\) \(rate\(vault_irsa_webhook_admission_duration_seconds_bucket/);
    expect(exprs).toMatch(/sum by \(le, operation, outcome\) \(rate\(vault_irsa_vault_request_duration_seconds_bucket/);
  });

  test('no panel refers to a metric or a label the programs do not export (the live check is test/integration/ops)', () => {
    const exported = new Map<string, string[]>();
    for (const r of [
      new Metrics({ defaultMetrics: false }).registry,
      createMetrics({ defaultMetrics: false }).registry,
    ]) {
      for (const m of r.getMetricsAsArray())
        exported.set(m.name, [...((m as unknown as { labelNames?: string[] }).labelNames ?? [])]);
    }
    const problems: string[] = [];
    for (const t of targets) {
      const known = new Set(TARGET_LABELS);
      for (const n of metricNames(t.expr)) {
        const labels = exported.get(n);
        if (!labels) problems.push(`${t.panel}: ${n}`);
        else labels.forEach((l) => known.add(l));
      }
      for (const l of labelNames(t.expr)) if (!known.has(l)) problems.push(`${t.panel}: label ${l}`);
      for (const m of (t.legendFormat ?? '').matchAll(/\{\{(\w+)\}\}/g))
        if (!known.has(m[1] as string)) problems.push(`${t.panel}: legend ${m[1]}`);
    }
    expect(problems).toEqual([]);
  });
});

describe('the plain scrape configs (manifests/monitoring)', () => {
  const doc = parse(read(SCRAPE_FILE)) as { scrape_configs: Obj[] };
  const job = (name: string): Obj => doc.scrape_configs.find((j) => j.job_name === name) as Obj;

  test('name the two jobs the rules and the dashboard select on', () => {
    expect(doc.scrape_configs.map((j) => j.job_name)).toEqual(['vault-irsa-webhook', 'vault-irsa-sidecar']);
  });

  test('keep injected pods on the sidecar’s named port, and set namespace and pod as the PodMonitor does', () => {
    const relabel = job('vault-irsa-sidecar').relabel_configs as Obj[];
    const sanitized = `__meta_kubernetes_pod_label_${INJECTED_LABEL.replace(/[^a-zA-Z0-9_]/g, '_')}`;
    expect(relabel[0]).toEqual({
      source_labels: [sanitized, '__meta_kubernetes_pod_container_port_name'],
      regex: `true;${HEALTH_PORT_NAME}`,
      action: 'keep',
    });
    for (const j of ['vault-irsa-sidecar', 'vault-irsa-webhook']) {
      const targets = (job(j).relabel_configs as Obj[]).map((r) => r.target_label).filter(Boolean);
      expect([j, targets]).toEqual([j, ['namespace', 'pod']]);
    }
  });

  test('scrape the webhook over verified HTTPS', () => {
    expect(job('vault-irsa-webhook').scheme).toBe('https');
    expect(at(job('vault-irsa-webhook'), 'tls_config.ca_file')).toEqual(expect.any(String));
    expect(at(job('vault-irsa-webhook'), 'tls_config.insecure_skip_verify')).toBeUndefined();
  });

  test('promtool check config accepts them with the rules file', () => {
    if (!hasPromtool) {
      console.log('skipped: promtool not on PATH (promtool check config)');
      return;
    }
    const dir = mkdtempSync(join(tmpdir(), 'vault-irsa-scrape-'));
    try {
      const file = join(dir, 'prometheus.yml');
      writeFileSync(
        file,
        `rule_files: [${JSON.stringify(join(CHART, '../../manifests/monitoring/vault-irsa.rules.yaml'))}]\n${read(SCRAPE_FILE)}`,
      );
      const r = run('promtool', ['check', 'config', file]);
      if (/field kubernetes_sd_configs not found/.test(r.out)) {
        // Debian builds Prometheus without Kubernetes discovery
        console.log(
          'skipped: this promtool has no kubernetes_sd_configs (Debian build): scrape configs not checked by promtool',
        );
        return;
      }
      expect([r.status, r.out]).toEqual([0, expect.stringContaining('SUCCESS')]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

(hasHelm ? describe : describe.skip)('helm template with monitoring on', () => {
  const sets = [
    'metrics.serviceMonitor.enabled=true',
    'metrics.podMonitor.enabled=true',
    'metrics.prometheusRule.enabled=true',
    'metrics.dashboard.enabled=true',
    'metrics.prometheusRule.for.VaultIrsaSecretStale=5s',
  ];
  const render = (extra: string[]): Obj[] => helmTemplate(helmPath as string, extra);

  test('the default render has none of them', () => {
    const kinds = render([]).map((d) => d.kind);
    for (const k of ['ServiceMonitor', 'PodMonitor', 'PrometheusRule']) expect(kinds).not.toContain(k);
    expect(
      render([]).some(
        (d) =>
          d.kind === 'ConfigMap' &&
          isObj(at(d, 'metadata.labels')) &&
          at(d, 'metadata.labels.grafana_dashboard') === '1',
      ),
    ).toBe(false);
  });

  test('the PrometheusRule holds the rules file with the `for:` overrides; the ConfigMap the dashboard', () => {
    const docs = render(sets);
    const rule = docs.find((d) => d.kind === 'PrometheusRule') as Obj;
    expect(at(rule, 'spec.groups')).toEqual(chartRenderedRuleGroups({ VaultIrsaSecretStale: '5s' }));
    const cm = docs.find((d) => d.kind === 'ConfigMap' && at(d, 'metadata.labels.grafana_dashboard') === '1') as Obj;
    expect(JSON.parse(String((at(cm, 'data') as Obj)['vault-irsa.json']))).toEqual(dashboard());
    const pm = docs.find((d) => d.kind === 'PodMonitor') as Obj;
    expect(at(pm, 'spec.selector.matchLabels')).toEqual({ [INJECTED_LABEL]: 'true' });
    const sm = docs.find((d) => d.kind === 'ServiceMonitor') as Obj;
    expect(at(sm, 'spec.endpoints')).toEqual([expect.objectContaining({ port: 'https', scheme: 'https' })]);
  });

  test('ServiceMonitor, PodMonitor and PrometheusRule are valid against the prometheus-operator CRD schemas', () => {
    const docs = render(sets);
    const models = { ServiceMonitor, PodMonitor, PrometheusRule } as const;
    for (const kind of Object.keys(models) as Array<keyof typeof models>) {
      const doc = docs.find((d) => d.kind === kind);
      expect([kind, doc?.apiVersion]).toEqual([kind, 'monitoring.coreos.com/v1']);
      // the models' validate() checks the object against the CRD's OpenAPI schema and throws naming the field
      expect(() => new models[kind](doc as never).validate()).not.toThrow();
    }
    // and it would catch a field the operator does not know
    const sm = docs.find((d) => d.kind === 'ServiceMonitor') as Obj;
    const broken = { ...sm, spec: { ...(sm.spec as Obj), endpoints: [{ port: 'https', interval: 30 }] } };
    expect(() => new ServiceMonitor(broken as never).validate()).toThrow();
  });

  test('promtool check rules on the PrometheusRule helm rendered', () => {
    if (!hasPromtool) {
      console.log('skipped: promtool not on PATH (check of the helm-rendered PrometheusRule)');
      return;
    }
    const rule = render(sets).find((d) => d.kind === 'PrometheusRule') as Obj;
    const dir = mkdtempSync(join(tmpdir(), 'vault-irsa-helm-rules-'));
    try {
      const file = join(dir, 'rules.json');
      writeFileSync(file, JSON.stringify({ groups: at(rule, 'spec.groups') }));
      const r = run('promtool', ['check', 'rules', file]);
      expect([r.status, r.out]).toEqual([0, expect.stringContaining('SUCCESS')]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
