/**
 * The alert rules: one file in the chart and the same file in manifests/, each alert with a summary and a runbook
 * entry in the README, every metric and label they use exported by the code, `promtool check rules` on the file
 * and on the rules as the chart renders them, and `promtool test rules` with a firing and a quiet case for every
 * alert. Where promtool is missing, the promtool tests print one `skipped:` line.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import { Metrics } from '../../../sidecar/metrics.js';
import { createMetrics } from '../../../webhook/metrics.js';
import { at, loadValues, read, ROOT, type Obj } from '../ship/ship-helpers.js';
import {
  allRules,
  chartRenderedRuleGroups,
  CHART_RULES_FILE,
  hasPromtool,
  labelNames,
  loadRuleGroups,
  metricNames,
  README_RUNBOOK_BASE,
  RULES_FILE,
  RULES_TEST_FILE,
  run,
  TARGET_LABELS,
  type RuleGroup,
} from './monitoring-helpers.js';

if (!hasPromtool) console.log('skipped: promtool not on PATH (apt-get install prometheus): promtool check/test rules');
const withPromtool = hasPromtool ? describe : describe.skip;

const ALERTS = [
  'VaultIrsaSecretStale',
  'VaultIrsaLoginFailing',
  'VaultIrsaSecretUnreadable',
  'VaultIrsaRenewalsFailing',
  'VaultIrsaWebhookErrors',
  'VaultIrsaWebhookDenyRateHigh',
  'VaultIrsaWebhookCertificateExpiring',
  'VaultIrsaWebhookDown',
];

/** GitHub's heading anchors: lowercased, punctuation other than - and _ dropped, spaces to -. */
export function githubAnchors(markdown: string): Set<string> {
  const out = new Set<string>();
  let inFence = false;
  for (const line of markdown.split('\n')) {
    if (line.startsWith('```')) inFence = !inFence;
    const m = inFence ? null : /^#{1,6}\s+(.*)$/.exec(line);
    if (!m) continue;
    out.add(
      (m[1] as string)
        .trim()
        .toLowerCase()
        .replace(/[^\p{L}\p{N}\s_-]/gu, '')
        .replace(/\s/g, '-'),
    );
  }
  return out;
}

/** Every metric the two programs export, with its label names. */
function exportedMetrics(): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const registry of [
    new Metrics({ defaultMetrics: false }).registry,
    createMetrics({ defaultMetrics: false }).registry,
  ]) {
    for (const m of registry.getMetricsAsArray())
      out.set(m.name, [...((m as unknown as { labelNames?: string[] }).labelNames ?? [])]);
  }
  return out;
}

const groups = loadRuleGroups();
const rules = allRules(groups);

describe('the alert rules file', () => {
  test('manifests/ ships the very file the chart ships', () => {
    expect(read(RULES_FILE)).toBe(read(CHART_RULES_FILE));
  });

  test('has exactly the alerts the issue asks for, each once', () => {
    expect(rules.map((r) => r.alert).sort()).toEqual([...ALERTS].sort());
  });

  test.each(ALERTS)(
    '%s: severity, summary, description and a runbook_url to an anchor that exists in the README',
    (name) => {
      const rule = rules.find((r) => r.alert === name);
      expect(rule).toBeDefined();
      const r = rule as (typeof rules)[number];
      expect(['warning', 'critical']).toContain(r.labels.severity);
      expect(r.annotations.summary?.length).toBeGreaterThan(10);
      expect(r.annotations.description?.length).toBeGreaterThan(10);
      const url = r.annotations.runbook_url ?? '';
      expect(url.startsWith(README_RUNBOOK_BASE)).toBe(true);
      const anchor = url.slice(README_RUNBOOK_BASE.length);
      expect(anchor).toBe(name.toLowerCase());
      expect([anchor, githubAnchors(read('README.md')).has(anchor)]).toEqual([anchor, true]);
    },
  );

  test('the runbook anchors sit in the README troubleshooting section, which starts from the status command', () => {
    const readme = read('README.md');
    const section = readme.slice(
      readme.indexOf('## Troubleshooting'),
      readme.indexOf('\n## ', readme.indexOf('## Troubleshooting') + 5),
    );
    expect(section.slice(0, 600)).toContain('vault-irsa-sidecar status');
    for (const name of ALERTS) expect([name, section.includes(`#### ${name}\n`)]).toEqual([name, true]);
  });

  test('every metric and label the rules use is exported by the sidecar or the webhook (or added by the scrape)', () => {
    const exported = exportedMetrics();
    const problems: string[] = [];
    for (const r of rules) {
      const names = metricNames(r.expr);
      const known = new Set(TARGET_LABELS);
      for (const n of names) {
        const labels = exported.get(n);
        if (labels === undefined) problems.push(`${r.alert}: metric ${n} is not exported`);
        else labels.forEach((l) => known.add(l));
      }
      for (const l of labelNames(r.expr))
        if (!known.has(l)) problems.push(`${r.alert}: label ${l} exists on none of ${names.join(', ')}`);
    }
    expect(problems).toEqual([]);
  });

  test('the stale threshold is the 10 minutes the issue names; the certificate threshold 7 days', () => {
    expect(rules.find((r) => r.alert === 'VaultIrsaSecretStale')?.for).toBe('10m');
    expect(rules.find((r) => r.alert === 'VaultIrsaWebhookCertificateExpiring')?.expr).toMatch(
      /- time\(\) < 7 \* 86400$/,
    );
  });
});

describe('the PrometheusRule as the chart renders it', () => {
  test('the template renders files/vault-irsa.rules.yaml with each `for:` from metrics.prometheusRule.for (what chartRenderedRuleGroups mirrors)', () => {
    const t = read('charts/vault-irsa/templates/prometheusrule.yaml');
    expect(t).toContain('{{- if .Values.metrics.prometheusRule.enabled }}');
    expect(t).toContain('.Files.Get "files/vault-irsa.rules.yaml" | fromYaml');
    expect(t).toContain('{{- $for := .Values.metrics.prometheusRule.for | default dict }}');
    expect(t).toContain('{{- if hasKey $for $rule.alert }}');
    expect(t).toContain('{{- $_ := set $rule "for" (index $for $rule.alert) }}');
    expect(t).toMatch(/spec:\n {2}groups:\n {4}\{\{- toYaml \$rules\.groups \| nindent 4 \}\}/);
  });

  test('values.yaml names every alert with the rules file’s own duration: the default render is the plain file', () => {
    const values = at(loadValues(), 'metrics.prometheusRule.for') as Record<string, string>;
    expect(Object.keys(values).sort()).toEqual([...ALERTS].sort());
    for (const r of rules) expect([r.alert, values[r.alert]]).toEqual([r.alert, r.for]);
    expect(chartRenderedRuleGroups()).toEqual(groups);
    const schemaNames = (
      at(
        JSON.parse(read('charts/vault-irsa/values.schema.json')),
        'properties.metrics.properties.prometheusRule.properties.for.propertyNames.enum',
      ) as string[]
    )
      .slice()
      .sort();
    expect(schemaNames).toEqual([...ALERTS].sort());
  });

  test('an override changes that alert’s `for:` and nothing else', () => {
    const changed = allRules(chartRenderedRuleGroups({ VaultIrsaSecretStale: '5s' }));
    for (const [i, r] of changed.entries()) {
      const orig = rules[i] as (typeof rules)[number];
      expect(r).toEqual(r.alert === 'VaultIrsaSecretStale' ? { ...orig, for: '5s' } : orig);
    }
  });
});

withPromtool('promtool', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'vault-irsa-rules-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const writeGroups = (name: string, g: RuleGroup[]): string => {
    const file = join(dir, name);
    writeFileSync(file, stringify({ groups: g }));
    return file;
  };

  test('promtool check rules: manifests/monitoring/vault-irsa.rules.yaml', () => {
    const r = run('promtool', ['check', 'rules', join(ROOT, RULES_FILE)]);
    expect(r.out).toContain(`SUCCESS: ${ALERTS.length} rules found`);
    expect(r.status).toBe(0);
  });

  test('promtool check rules: the PrometheusRule’s rules as the chart renders them (defaults, and short `for:` values)', () => {
    for (const [name, g] of [
      ['chart-default.yaml', chartRenderedRuleGroups()],
      ['chart-short.yaml', chartRenderedRuleGroups(Object.fromEntries(ALERTS.map((a) => [a, '5s'])))],
    ] as const) {
      const r = run('promtool', ['check', 'rules', writeGroups(name, g)]);
      expect([name, r.status, r.out]).toEqual([
        name,
        0,
        expect.stringContaining(`SUCCESS: ${ALERTS.length} rules found`),
      ]);
    }
  });

  test('promtool check rules rejects a broken expression (the check is real)', () => {
    const broken = chartRenderedRuleGroups();
    (broken[0] as RuleGroup).rules[0] = {
      ...((broken[0] as RuleGroup).rules[0] as (typeof rules)[number]),
      expr: 'sum by (pod (vault_irsa_secret_stale)',
    };
    const r = run('promtool', ['check', 'rules', writeGroups('broken.yaml', broken)]);
    expect(r.status).not.toBe(0);
  });

  const unitTests = parse(read(RULES_TEST_FILE)) as {
    tests: Array<{ alert_rule_test: Array<{ alertname: string; exp_alerts: unknown[] }> }>;
  };

  test('the promtool unit tests have, for every alert, a time where it fires and one where it must not', () => {
    const cases = unitTests.tests.flatMap((t) => t.alert_rule_test);
    for (const a of ALERTS) {
      const mine = cases.filter((c) => c.alertname === a);
      expect([a, mine.some((c) => c.exp_alerts.length > 0), mine.some((c) => c.exp_alerts.length === 0)]).toEqual([
        a,
        true,
        true,
      ]);
    }
  });

  test('promtool test rules: every alert, on the plain file and on the chart’s default render', () => {
    for (const rulesFile of [join(ROOT, RULES_FILE), writeGroups('chart-default.yaml', chartRenderedRuleGroups())]) {
      const suite = { ...(parse(read(RULES_TEST_FILE)) as Obj), rule_files: [rulesFile] };
      const file = join(dir, 'unit.yaml');
      writeFileSync(file, stringify(suite));
      const r = run('promtool', ['test', 'rules', file]);
      expect([rulesFile, r.status, r.out]).toEqual([rulesFile, 0, expect.stringContaining('SUCCESS')]);
    }
  });

  test('promtool test rules fails when an alert no longer fires (the unit tests bite)', () => {
    const g = chartRenderedRuleGroups();
    const stale = (g[0] as RuleGroup).rules.find((r) => r.alert === 'VaultIrsaSecretStale') as (typeof rules)[number];
    stale.expr = stale.expr.replace('== 1', '== 2');
    const suite = { ...(parse(read(RULES_TEST_FILE)) as Obj), rule_files: [writeGroups('mutant.yaml', g)] };
    const file = join(dir, 'mutant-unit.yaml');
    writeFileSync(file, stringify(suite));
    const r = run('promtool', ['test', 'rules', file]);
    expect(r.status).not.toBe(0);
    expect(r.out).toContain('VaultIrsaSecretStale');
  });
});
