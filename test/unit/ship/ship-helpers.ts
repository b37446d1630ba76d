/** Shared by the packaging tests: repository paths, file loaders, and the chart's defaults as data. */
import { spawnSync } from 'node:child_process';
import { readFileSync, existsSync, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse, parseAllDocuments } from 'yaml';

export const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
export const CHART = join(ROOT, 'charts/vault-irsa');
export const MANIFESTS = join(ROOT, 'manifests');

export const read = (rel: string): string => readFileSync(join(ROOT, rel), 'utf8');
export const exists = (rel: string): boolean => existsSync(join(ROOT, rel));

export type Obj = Record<string, unknown>;

export function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Every YAML document of a file, parse errors surfaced (the yaml package records them per document). */
export function loadDocs(rel: string): Obj[] {
  const docs = parseAllDocuments(read(rel));
  const out: Obj[] = [];
  for (const d of docs) {
    if (d.errors.length > 0) throw new Error(`${rel}: ${d.errors.map((e) => e.message).join('; ')}`);
    const js: unknown = d.toJS();
    if (js === null || js === undefined) continue;
    if (!isObj(js)) throw new Error(`${rel}: a document is not a mapping`);
    out.push(js);
  }
  return out;
}

export function loadValues(): Obj {
  const v: unknown = parse(read('charts/vault-irsa/values.yaml'));
  if (!isObj(v)) throw new Error('values.yaml is not a mapping');
  return v;
}

/** Value at a dotted path, or undefined. */
export function at(obj: unknown, path: string): unknown {
  let cur: unknown = obj;
  for (const part of path.split('.')) {
    if (!isObj(cur) || !(part in cur)) return undefined;
    cur = cur[part];
  }
  return cur;
}

export function hasPath(obj: unknown, path: string): boolean {
  let cur: unknown = obj;
  for (const part of path.split('.')) {
    if (!isObj(cur) || !(part in cur)) return false;
    cur = cur[part];
  }
  return true;
}

export function str(v: unknown): string {
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  return '';
}

export function appVersion(): string {
  const chart = parse(read('charts/vault-irsa/Chart.yaml')) as Obj;
  return str(chart.appVersion);
}

const tlsAuto = (v: Obj): boolean => at(v, 'tls.mode') === 'auto';

/** values.yaml as manifests/install.yaml renders it: the chart defaults with tls.mode=auto. */
export function installValues(): Obj {
  const v = structuredClone(loadValues());
  (v.tls as Obj).mode = 'auto';
  return v;
}

/**
 * The webhook container's env as the chart's deployment template writes it from values (mirrors
 * templates/deployment.yaml; each entry names the values it reads, which a test checks against the template).
 * Undefined value = the variable is left out.
 */
export const ENV_FROM_VALUES: ReadonlyArray<{ name: string; paths: string[]; value: (v: Obj) => string | undefined }> =
  [
    {
      name: 'VAULT_IRSA_WEBHOOK_PORT',
      paths: ['webhook.containerPort'],
      value: (v) => str(at(v, 'webhook.containerPort')),
    },
    // tls.mode=auto: the webhook's own certificate management; names are those of release "vault-irsa" in namespace "vault-irsa"
    { name: 'VAULT_IRSA_WEBHOOK_TLS_MODE', paths: ['tls.mode'], value: (v) => (tlsAuto(v) ? 'auto' : undefined) },
    { name: 'VAULT_IRSA_WEBHOOK_NAMESPACE', paths: [], value: (v) => (tlsAuto(v) ? 'vault-irsa' : undefined) },
    {
      name: 'VAULT_IRSA_WEBHOOK_TLS_SECRET',
      paths: [],
      value: (v) => (tlsAuto(v) ? 'vault-irsa-auto-tls' : undefined),
    },
    { name: 'VAULT_IRSA_WEBHOOK_SERVICE_NAME', paths: [], value: (v) => (tlsAuto(v) ? 'vault-irsa' : undefined) },
    { name: 'VAULT_IRSA_WEBHOOK_CONFIGURATION_NAME', paths: [], value: (v) => (tlsAuto(v) ? 'vault-irsa' : undefined) },
    {
      name: 'VAULT_IRSA_WEBHOOK_TLS_VALIDITY',
      paths: ['tls.auto.validity'],
      value: (v) => (tlsAuto(v) ? str(at(v, 'tls.auto.validity')) : undefined),
    },
    {
      name: 'VAULT_IRSA_WEBHOOK_TLS_RENEW_BEFORE',
      paths: ['tls.auto.renewBefore'],
      value: (v) => (tlsAuto(v) ? str(at(v, 'tls.auto.renewBefore')) : undefined),
    },
    {
      name: 'VAULT_IRSA_WEBHOOK_TLS_CERT_FILE',
      paths: [],
      value: (v) => (tlsAuto(v) ? undefined : '/etc/vault-irsa/tls/tls.crt'),
    },
    {
      name: 'VAULT_IRSA_WEBHOOK_TLS_KEY_FILE',
      paths: [],
      value: (v) => (tlsAuto(v) ? undefined : '/etc/vault-irsa/tls/tls.key'),
    },
    {
      name: 'VAULT_IRSA_WEBHOOK_SIDECAR_IMAGE',
      paths: ['sidecar.image.repository', 'sidecar.image.tag'],
      value: (v) => `${str(at(v, 'sidecar.image.repository'))}:${str(at(v, 'sidecar.image.tag')) || appVersion()}`,
    },
    { name: 'VAULT_IRSA_WEBHOOK_VAULT_ADDR', paths: ['vault.addr'], value: (v) => str(at(v, 'vault.addr')) },
    {
      name: 'VAULT_IRSA_WEBHOOK_ALLOWED_VAULT_ADDRS',
      paths: ['vault.allowedAddrs'],
      value: (v) => {
        const list = at(v, 'vault.allowedAddrs');
        return Array.isArray(list) && list.length > 0 ? list.map(str).join(',') : undefined;
      },
    },
    {
      name: 'VAULT_IRSA_WEBHOOK_IAM_SERVER_ID',
      paths: ['vault.iamServerId'],
      value: (v) => str(at(v, 'vault.iamServerId')) || undefined,
    },
    {
      name: 'VAULT_IRSA_WEBHOOK_VAULT_CACERT_CONFIGMAP',
      paths: ['vault.caConfigMap'],
      value: (v) => str(at(v, 'vault.caConfigMap')) || undefined,
    },
    { name: 'VAULT_IRSA_WEBHOOK_STS_REGION', paths: ['aws.stsRegion'], value: (v) => str(at(v, 'aws.stsRegion')) },
    {
      name: 'VAULT_IRSA_WEBHOOK_AWS_REGION',
      paths: ['aws.region'],
      value: (v) => str(at(v, 'aws.region')) || undefined,
    },
    {
      name: 'VAULT_IRSA_WEBHOOK_AWS_ENDPOINT_URL_STS',
      paths: ['aws.stsEndpointUrl'],
      value: (v) => str(at(v, 'aws.stsEndpointUrl')) || undefined,
    },
    { name: 'VAULT_IRSA_WEBHOOK_SIDECAR_MODE', paths: ['sidecar.mode'], value: (v) => str(at(v, 'sidecar.mode')) },
    { name: 'VAULT_IRSA_WEBHOOK_SIDECAR_UID', paths: ['sidecar.uid'], value: (v) => str(at(v, 'sidecar.uid')) },
    {
      name: 'VAULT_IRSA_WEBHOOK_SIDECAR_IMAGE_PULL_POLICY',
      paths: ['sidecar.image.pullPolicy'],
      value: (v) => str(at(v, 'sidecar.image.pullPolicy')) || undefined,
    },
    {
      name: 'VAULT_IRSA_WEBHOOK_SIDECAR_CPU_REQUEST',
      paths: ['sidecar.resources.requests.cpu'],
      value: (v) => str(at(v, 'sidecar.resources.requests.cpu')) || 'none',
    },
    {
      name: 'VAULT_IRSA_WEBHOOK_SIDECAR_MEMORY_REQUEST',
      paths: ['sidecar.resources.requests.memory'],
      value: (v) => str(at(v, 'sidecar.resources.requests.memory')) || 'none',
    },
    {
      name: 'VAULT_IRSA_WEBHOOK_SIDECAR_CPU_LIMIT',
      paths: ['sidecar.resources.limits.cpu'],
      value: (v) => str(at(v, 'sidecar.resources.limits.cpu')) || 'none',
    },
    {
      name: 'VAULT_IRSA_WEBHOOK_SIDECAR_MEMORY_LIMIT',
      paths: ['sidecar.resources.limits.memory'],
      value: (v) => str(at(v, 'sidecar.resources.limits.memory')) || 'none',
    },
    {
      name: 'VAULT_IRSA_WEBHOOK_KUBERNETES',
      paths: ['webhook.kubernetes'],
      value: (v) => str(at(v, 'webhook.kubernetes')),
    },
    { name: 'VAULT_IRSA_WEBHOOK_LOG_LEVEL', paths: ['webhook.logLevel'], value: (v) => str(at(v, 'webhook.logLevel')) },
    {
      name: 'VAULT_IRSA_WEBHOOK_MAX_CONNECTIONS',
      paths: ['webhook.maxConnections'],
      value: (v) => str(at(v, 'webhook.maxConnections')),
    },
  ];

export function expectedWebhookEnv(values: Obj): Array<{ name: string; value: string }> {
  const out: Array<{ name: string; value: string }> = [];
  for (const e of ENV_FROM_VALUES) {
    const value = e.value(values);
    if (value !== undefined) out.push({ name: e.name, value });
  }
  return out;
}

/** Files under a directory, relative to ROOT, recursively. */
export function walk(relDir: string): string[] {
  const out: string[] = [];
  const rec = (abs: string) => {
    for (const name of readdirSync(abs)) {
      const p = join(abs, name);
      if (statSync(p).isDirectory()) rec(p);
      else out.push(relative(ROOT, p));
    }
  };
  if (existsSync(join(ROOT, relDir))) rec(join(ROOT, relDir));
  return out.sort();
}

export function findKind(docs: Obj[], kind: string, name?: string): Obj {
  const found = docs.find((d) => d.kind === kind && (name === undefined || at(d, 'metadata.name') === name));
  if (!found) throw new Error(`no ${kind}${name ? ` ${name}` : ''} found`);
  return found;
}

/**
 * `helm template` of the chart with `--set` values, as parsed objects, by the given helm binary (the real one
 * from test/support/kube-tools.ts). Kubernetes 1.30, release vault-irsa in namespace vault-irsa.
 */
export function helmTemplate(helm: string, sets: string[]): Obj[] {
  const args = ['template', 'vault-irsa', CHART, '--namespace', 'vault-irsa', '--kube-version', '1.30.0'];
  const r = spawnSync(helm, [...args, ...sets.flatMap((s) => ['--set', s])], { encoding: 'utf8', timeout: 60_000 });
  if (r.status !== 0) throw new Error(`helm template failed: ${r.stderr}`);
  return parseAllDocuments(r.stdout)
    .map((d) => d.toJS() as unknown)
    .filter(isObj);
}
