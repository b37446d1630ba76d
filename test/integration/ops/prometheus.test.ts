/**
 * Operating it, end to end on one machine: a real `prometheus` on loopback scrapes the built sidecar and webhook
 * (started against the stand-ins), evaluates the alert rules as the chart renders them (the stale alert's `for:`
 * shortened through metrics.prometheusRule.for), and answers every PromQL expression of the dashboard. With Vault
 * stopped, VaultIrsaSecretStale goes pending, then firing. `vault-irsa-sidecar status` runs against the live
 * sidecar, with a leak check on its output. Without a prometheus binary: one `skipped:` line.
 */
import { spawnSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { stringify } from 'yaml';
import { startProcess, type TestProcess } from '../../../stand-ins/child.js';
import { freePorts } from '../../../stand-ins/ports.js';
import { STACK_SEED, startStack, type StackExt } from '../../../stand-ins/stack.js';
import { makeTestCert, writeTestCert } from '../../../stand-ins/tls.js';
import type { IssuedCredentials } from '../../../stand-ins/types.js';
import {
  chartRenderedRuleGroups,
  dashboardTargets,
  expandGrafana,
  hasPrometheus,
} from '../../unit/ops/monitoring-helpers.js';
import { admissionReview } from '../../unit/webhook/helpers.js';
import { cleanup, SIDECAR_BIN, startSidecar, waitFor, waitReady, type RunningSidecar } from '../sidecar/helpers.js';
import { httpsRequest, postReview, startWebhookProcess, type WebhookProcess } from '../webhook/webhook-process.js';

if (!hasPrometheus)
  console.log('skipped: prometheus not on PATH (apt-get install prometheus): live scrape, alert and dashboard checks');
const suite = hasPrometheus ? describe : describe.skip;

interface PromAlert {
  labels: Record<string, string>;
  state: 'pending' | 'firing';
}
type Sample = { metric: Record<string, string>; value: [number, string] };

let stack: StackExt;
let sidecar: RunningSidecar | undefined;
let webhook: WebhookProcess | undefined;
let prometheus: TestProcess | undefined;
let dir: string;
let promUrl: string;
let ca: string;
let tlsDir: string;
const issued: IssuedCredentials[] = [];

async function promGet<T>(path: string): Promise<T> {
  const r = await fetch(`${promUrl}${path}`);
  const body = (await r.json()) as { status: string; data: T; error?: string };
  if (body.status !== 'success') throw new Error(`prometheus ${path}: ${body.error ?? r.status}`);
  return body.data;
}
const query = async (q: string): Promise<Sample[]> =>
  (await promGet<{ result: Sample[] }>(`/api/v1/query?query=${encodeURIComponent(q)}`)).result;
const alerts = async (): Promise<PromAlert[]> => (await promGet<{ alerts: PromAlert[] }>('/api/v1/alerts')).alerts;

/** The bundle the image runs (no node_modules beside it), as its launcher /usr/local/bin/vault-irsa-sidecar does. */
const BUNDLE = resolve(process.cwd(), 'dist/bundle/vault-irsa-sidecar.cjs');

/** Runs the built CLI as `kubectl exec … -- vault-irsa-sidecar status` would: the sidecar container's env. */
function statusCommand(args: string[], entry = BUNDLE): { code: number | null; out: string; err: string } {
  const s = sidecar as RunningSidecar;
  const r = spawnSync(process.execPath, [entry, 'status', ...args], {
    encoding: 'utf8',
    timeout: 20_000,
    env: {
      PATH: process.env.PATH ?? '',
      VAULT_IRSA_LISTEN: s.api.replace('http://', ''),
      VAULT_IRSA_TOKEN_FILE: s.tokenFile,
    },
  });
  return { code: r.status, out: r.stdout ?? '', err: r.stderr ?? '' };
}

suite('a real Prometheus scraping the sidecar and the webhook', () => {
  beforeAll(async () => {
    stack = await startStack();
    const original = stack.sts.issueCredentials.bind(stack.sts);
    stack.sts.issueCredentials = (...args: Parameters<typeof original>) => {
      const c = original(...args);
      issued.push(c);
      return c;
    };
    dir = await mkdtemp(join(tmpdir(), 'vault-irsa-ops-'));
    sidecar = await startSidecar(
      stack.sidecarEnv({
        VAULT_IRSA_SECRETS: JSON.stringify({ app: 'secret/my-app', db: 'database/creds/app' }),
        VAULT_IRSA_REFRESH: '1s',
      }),
    );
    await waitReady(sidecar);

    const cert = await makeTestCert();
    ca = cert.cert;
    tlsDir = join(dir, 'tls');
    const tls = await writeTestCert(tlsDir, cert);
    // Prometheus trusts a copy, so the rotation at the end does not move its CA under it
    const promCa = join(dir, 'prometheus-ca.crt');
    await writeFile(promCa, cert.cert);
    webhook = await startWebhookProcess({
      VAULT_IRSA_WEBHOOK_TLS_CERT_FILE: tls.certFile,
      VAULT_IRSA_WEBHOOK_TLS_KEY_FILE: tls.keyFile,
      VAULT_IRSA_WEBHOOK_VAULT_ADDR: stack.vault.addr,
      VAULT_IRSA_WEBHOOK_KUBERNETES: 'off',
    });

    const rulesFile = join(dir, 'rules.yaml');
    await writeFile(rulesFile, stringify({ groups: chartRenderedRuleGroups({ VaultIrsaSecretStale: '5s' }) }));
    const [promPort] = await freePorts(1);
    promUrl = `http://127.0.0.1:${promPort}`;
    const config = {
      global: { scrape_interval: '1s', scrape_timeout: '1s', evaluation_interval: '1s' },
      rule_files: [rulesFile],
      scrape_configs: [
        {
          job_name: 'vault-irsa-sidecar',
          static_configs: [
            { targets: [sidecar.health.replace('http://', '')], labels: { namespace: 'demo', pod: 'app-1' } },
          ],
        },
        {
          job_name: 'vault-irsa-webhook',
          scheme: 'https',
          tls_config: { ca_file: promCa, server_name: 'localhost' },
          static_configs: [
            { targets: [`127.0.0.1:${webhook.port}`], labels: { namespace: 'vault-irsa', pod: 'webhook-1' } },
          ],
        },
      ],
    };
    const configFile = join(dir, 'prometheus.yml');
    await writeFile(configFile, stringify(config));
    prometheus = startProcess(
      'prometheus',
      [
        `--config.file=${configFile}`,
        `--storage.tsdb.path=${join(dir, 'tsdb')}`,
        `--web.listen-address=127.0.0.1:${promPort}`,
        '--log.level=warn',
      ],
      {},
      { cwd: dir },
    );
    await waitFor(async () => (await fetch(`${promUrl}/-/ready`).catch(() => undefined))?.status === 200, 30_000, 100);
    await waitFor(
      async () => (await query('sum(up{job=~"vault-irsa-sidecar|vault-irsa-webhook"})'))[0]?.value[1] === '2',
      30_000,
      200,
    );
  }, 90_000);

  afterAll(async () => {
    await prometheus?.stop('SIGTERM', 5000).catch(() => undefined);
    await webhook?.stop();
    await cleanup(sidecar);
    await stack?.vault.start().catch(() => undefined);
    await stack?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  test('both programs are scraped; traffic shows up; with everything healthy no alert is pending or firing', async () => {
    const s = sidecar as RunningSidecar;
    for (let i = 0; i < 5; i++) {
      expect((await s.get('/v1/secrets/app')).status).toBe(200);
      expect((await s.get('/v1/secrets/nope')).status).toBe(404);
    }
    const pod = (annotations: Record<string, string>) => ({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'web', namespace: 'demo', annotations },
      spec: { serviceAccountName: 'app', containers: [{ name: 'app', image: 'ghcr.io/example/web:1.0' }] },
    });
    const injected = await postReview(
      (webhook as WebhookProcess).port,
      ca,
      admissionReview(
        pod({
          'vault-irsa.io/role': 'app',
          'vault-irsa.io/secret-config': 'secret/my-app',
          'vault-irsa.io/aws-role-arn': stack.roleArn,
        }),
      ),
    );
    expect((injected.json().response as { allowed: boolean; patch?: string }).patch).toBeDefined();
    const denied = await postReview(
      (webhook as WebhookProcess).port,
      ca,
      admissionReview(pod({ 'vault-irsa.io/role': 'app', 'vault-irsa.io/sidecar-mode': 'sideways' })),
    );
    expect((denied.json().response as { allowed: boolean }).allowed).toBe(false);
    await postReview((webhook as WebhookProcess).port, ca, admissionReview(pod({})));

    await waitFor(
      async () =>
        (await query('sum(vault_irsa_secret_reads_total{job="vault-irsa-sidecar", status="404"})'))[0]?.value[1] ===
        '5',
      20_000,
      200,
    );
    await waitFor(
      async () =>
        (await query('sum(vault_irsa_webhook_admissions_total{job="vault-irsa-webhook"})'))[0]?.value[1] === '3',
      20_000,
      200,
    );
    const notAfter = Number(
      (await query('vault_irsa_webhook_tls_certificate_not_after_timestamp_seconds'))[0]?.value[1],
    );
    expect(Math.abs(notAfter * 1000 - Date.parse(new X509Certificate(ca).validTo))).toBeLessThan(1000);
    // a few rule evaluations on live data
    const evaluatedAfter = Date.now() + 4000;
    await waitFor(() => Date.now() > evaluatedAfter, 10_000, 200);
    expect(await alerts()).toEqual([]);
  }, 60_000);

  test('vault-irsa-sidecar status against the live sidecar: the table and --json, nothing it holds leaks', async () => {
    const s = sidecar as RunningSidecar;
    const table = statusCommand([]);
    expect([table.code, table.err]).toEqual([0, '']);
    expect(table.out).toMatch(/^vault-irsa sidecar \S+: ready\n/);
    expect(table.out).toContain(`Vault:     ${stack.vault.addr} (role app, auth mount aws, STS region us-east-1)`);
    expect(table.out).toContain(`AWS:       IRSA role ${stack.roleArn}, session app-sidecar`);
    expect(table.out).toMatch(/Token: {5}logged in; expires in \S+ \(.+\); next renewal in \S+/);
    expect(table.out).toMatch(/\napp\s+secret\/my-app\s+1\s+\S+\s+no\s+-\n/);
    expect(table.out).toMatch(/\ndb\s+database\/creds\/app\s+1\s+\S+\s+no\s+-\n/);

    // the tsc output prints the same table
    expect(statusCommand([], SIDECAR_BIN).out.replace(/\d+[dhms]\S*/g, '')).toBe(
      table.out.replace(/\d+[dhms]\S*/g, ''),
    );

    const json = statusCommand(['--json']);
    expect(json.code).toBe(0);
    const st = JSON.parse(json.out) as {
      ready: boolean;
      token: { loggedIn: boolean; ttlSeconds: number };
      secrets: Array<{ name: string }>;
    };
    expect(st).toMatchObject({ ready: true, token: { loggedIn: true } });
    expect(st.token.ttlSeconds).toBeGreaterThan(3000);
    expect(st.secrets.map((x) => x.name)).toEqual(['app', 'db']);

    const db = (await s.get('/v1/secrets/db')).json() as { data: Record<string, string> };
    const forbidden = [
      STACK_SEED.password,
      s.requestToken,
      await readFile(stack.webIdentityTokenFile, 'utf8'),
      ...Object.values(db.data),
      ...issued.flatMap((c) => [c.secretAccessKey, c.sessionToken]),
    ];
    expect(issued.length).toBeGreaterThan(0);
    for (const out of [table.out, table.err, json.out, json.err]) {
      for (const f of forbidden) expect(out).not.toContain(f);
      expect(out).not.toMatch(/hvs\.[A-Za-z0-9]{20,}/);
    }
    // and the pod-IP listener does not serve it
    expect(
      (await fetch(`${s.health}/v1/status`, { headers: { authorization: `Bearer ${s.requestToken}` } })).status,
    ).toBe(404);
  }, 60_000);

  test('with Vault stopped, VaultIrsaSecretStale goes pending, then firing within its (shortened) window; status shows it', async () => {
    await stack.vault.stop();
    const stoppedAt = Date.now();
    const seen = new Set<string>();
    let firing: PromAlert | undefined;
    await waitFor(
      async () => {
        for (const a of await alerts())
          if (a.labels.alertname === 'VaultIrsaSecretStale') {
            seen.add(a.state);
            if (a.state === 'firing') firing = a;
          }
        return firing !== undefined;
      },
      60_000,
      250,
    );
    expect(seen.has('pending')).toBe(true);
    expect(firing?.labels).toEqual({
      alertname: 'VaultIrsaSecretStale',
      severity: 'warning',
      namespace: 'demo',
      pod: 'app-1',
      secret: 'app',
    });
    // 5 s of `for:` after the first stale scrape: it cannot have fired sooner
    expect(Date.now() - stoppedAt).toBeGreaterThanOrEqual(5000);

    const table = statusCommand([]);
    expect(table.code).toBe(0);
    expect(table.out).toMatch(/\napp\s+secret\/my-app\s+1\s+\S+\s+STALE\s+vault_unavailable\n/);
    const errors = await query('vault_irsa_secret_error{job="vault-irsa-sidecar", secret="app"} == 1');
    expect(errors.map((e) => e.metric.code)).toEqual(['vault_unavailable']);
  }, 90_000);

  test('every PromQL expression of the dashboard returns data from the live scrape', async () => {
    const targets = dashboardTargets();
    expect(targets.length).toBeGreaterThan(15);
    const empty: string[] = [];
    for (const t of targets) {
      const result = await query(expandGrafana(t.expr, '15s'));
      if (result.length === 0) empty.push(`${t.panel}: ${t.expr}`);
    }
    expect(empty).toEqual([]);
  }, 60_000);

  test('a rotated serving certificate shows in the notAfter metric once the webhook reloads it', async () => {
    const next = await makeTestCert({ days: 3 });
    await writeTestCert(tlsDir, next);
    const expected = Math.floor(Date.parse(new X509Certificate(next.cert).validTo) / 1000);
    await waitFor(
      async () => {
        const r = await httpsRequest((webhook as WebhookProcess).port, next.cert, { path: '/metrics' }).catch(
          () => undefined,
        );
        return r?.body.includes(`vault_irsa_webhook_tls_certificate_not_after_timestamp_seconds ${expected}`) === true;
      },
      20_000,
      200,
    );
  }, 30_000);
});
