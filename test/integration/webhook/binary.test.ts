/** The built webhook process over HTTPS: mutate, deny, 400s, health, metrics, cert rotation, SIGTERM. */
import { mkdtemp, mkdir, rename, rm, symlink, writeFile } from 'node:fs/promises';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeTestCert, writeTestCert, type TestCert } from '../../../stand-ins/tls.js';
import { startFakeKubeApi } from '../../support/fake-kube-api.js';
import { admissionReview, applyOps } from '../../unit/webhook/helpers.js';
import {
  httpsRequest,
  postReview,
  runToExit,
  startWebhookProcess,
  waitFor,
  type WebhookProcess,
} from './webhook-process.js';

let dir: string;
let cert: TestCert;
let files: { certFile: string; keyFile: string };
let wh: WebhookProcess | undefined;

const baseEnv = (): Record<string, string> => ({
  VAULT_IRSA_WEBHOOK_VAULT_ADDR: 'https://vault.example.com:8200',
  VAULT_IRSA_WEBHOOK_TLS_CERT_FILE: files.certFile,
  VAULT_IRSA_WEBHOOK_TLS_KEY_FILE: files.keyFile,
  VAULT_IRSA_WEBHOOK_KUBERNETES: 'off',
  VAULT_IRSA_WEBHOOK_MAX_BODY_BYTES: '65536',
  VAULT_IRSA_WEBHOOK_TLS_POLL_INTERVAL: '200ms',
});

const pod = (annotations: Record<string, string>) => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { generateName: 'web-', annotations },
  spec: { containers: [{ name: 'app', image: 'busybox' }] },
});
const decodePatch = (resp: Record<string, unknown>) =>
  JSON.parse(Buffer.from(String(resp.patch), 'base64').toString('utf8'));

beforeAll(async () => {
  cert = await makeTestCert();
});
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'vault-irsa-wh-'));
  files = await writeTestCert(join(dir, 'tls'), cert);
});
afterEach(async () => {
  await wh?.stop();
  wh = undefined;
  await rm(dir, { recursive: true, force: true });
});

test('a missing VAULT_ADDR stops the process with one line naming it', async () => {
  const env = baseEnv();
  delete (env as Record<string, string | undefined>).VAULT_IRSA_WEBHOOK_VAULT_ADDR;
  const r = await runToExit(env);
  expect(r.code).toBe(1);
  expect(r.stderr.trim().split('\n')).toHaveLength(1);
  expect(r.stderr).toMatch(/VAULT_IRSA_WEBHOOK_VAULT_ADDR is required/);
});

test('an unreadable certificate stops the process naming the file', async () => {
  const r = await runToExit({ ...baseEnv(), VAULT_IRSA_WEBHOOK_TLS_CERT_FILE: join(dir, 'missing.crt') });
  expect(r.code).toBe(1);
  expect(r.stderr).toMatch(/cannot read TLS certificate .*missing\.crt/);
  expect(r.stderr).not.toMatch(/BEGIN/);
});

test('mutate, deny, no-op and bad requests over HTTPS; health and metrics', async () => {
  wh = await startWebhookProcess(baseEnv());
  const { port } = wh;

  const p = pod({
    'vault-irsa.io/role': 'app',
    'vault-irsa.io/secret-db': 'secret/db',
    'vault-irsa.io/aws-role-arn': 'arn:aws:iam::111122223333:role/app',
  });
  const ok = await postReview(port, cert.cert, admissionReview(p, { uid: 'abc-1' }));
  expect(ok.status).toBe(200);
  const resp = ok.json().response as Record<string, unknown>;
  expect(resp).toMatchObject({ uid: 'abc-1', allowed: true, patchType: 'JSONPatch' });
  // the answer as sent: the patch's base64 spliced in last (responseJson), after the warnings, not re-serialised
  const shared = { ...p, spec: { ...p.spec, shareProcessNamespace: true } };
  const warned = await postReview(port, cert.cert, admissionReview(shared, { uid: 'abc-1w' }));
  const warnedResp = warned.json().response as Record<string, unknown>;
  expect(warnedResp.warnings).toEqual([expect.stringContaining('shareProcessNamespace')]);
  expect(warned.body.endsWith(`"patch":"${String(warnedResp.patch)}"}}`)).toBe(true);
  const injected = applyOps(p, decodePatch(resp)) as unknown as {
    spec: { initContainers: Array<{ name: string; restartPolicy: string }> };
  };
  expect(injected.spec.initContainers[0]).toMatchObject({ name: 'vault-irsa', restartPolicy: 'Always' });

  const denied = await postReview(
    port,
    cert.cert,
    admissionReview(pod({ 'vault-irsa.io/role': 'app', 'vault-irsa.io/port': 'abc' }), { uid: 'abc-2' }),
  );
  expect(denied.status).toBe(200);
  expect(denied.json().response).toMatchObject({ uid: 'abc-2', allowed: false, status: { code: 400 } });
  expect(JSON.stringify(denied.json())).toContain('vault-irsa.io/port: \\"abc\\"');

  const del = await postReview(port, cert.cert, admissionReview(null, { operation: 'DELETE', uid: 'abc-3' }));
  expect(del.json().response).toEqual({ uid: 'abc-3', allowed: true });

  const notJson = await httpsRequest(port, cert.cert, {
    method: 'POST',
    path: '/mutate',
    body: '{"apiVersion":',
    headers: { 'content-type': 'application/json' },
  });
  expect(notJson.status).toBe(400);
  expect(notJson.json().message).toMatch(/not JSON/);
  const noType = await httpsRequest(port, cert.cert, { method: 'POST', path: '/mutate', body: 'hello' });
  expect(noType.status).toBe(400);
  const empty = await httpsRequest(port, cert.cert, {
    method: 'POST',
    path: '/mutate',
    headers: { 'content-type': 'application/json' },
  });
  expect(empty.status).toBe(400);
  expect(empty.json().message).toMatch(/empty body/);
  const notReview = await postReview(port, cert.cert, { hello: 'world' });
  expect(notReview.status).toBe(400);
  expect(notReview.json().message).toMatch(/not an AdmissionReview/);
  const big = await postReview(port, cert.cert, { ...admissionReview(p), padding: 'x'.repeat(70_000) });
  expect(big.status).toBe(400);
  expect(big.json().message).toMatch(/larger than 65536 bytes/);

  expect((await httpsRequest(port, cert.cert, { path: '/healthz' })).status).toBe(200);
  expect((await httpsRequest(port, cert.cert, { path: '/readyz' })).status).toBe(200);
  const metrics = await httpsRequest(port, cert.cert, { path: '/metrics' });
  expect(metrics.body).toMatch(/vault_irsa_webhook_admissions_total\{outcome="injected"\} 2/);
  expect(metrics.body).toMatch(/vault_irsa_webhook_admissions_total\{outcome="denied"\} 1/);
  expect(metrics.body).toMatch(/vault_irsa_webhook_admissions_total\{outcome="invalid"\} 5/);
  expect(metrics.body).toMatch(/vault_irsa_webhook_admission_duration_seconds_count\{outcome="injected"\} 2/);
  // still alive after all of that
  expect((await httpsRequest(port, cert.cert, { path: '/healthz' })).status).toBe(200);

  // one line per review, written within the turn that answered it (log-writer.ts): each is there by now
  const lines = () => wh!.logs.filter((l) => l.msg === 'admission');
  await waitFor(() => lines().length >= 8, 'the admission lines');
  expect(lines().find((l) => l.uid === 'abc-1')).toMatchObject({
    level: 30,
    service: 'vault-irsa-webhook',
    outcome: 'injected',
    operation: 'CREATE',
    ops: expect.any(Number),
    ms: expect.any(Number),
  });
  expect(lines().find((l) => l.uid === 'abc-2')).toMatchObject({ outcome: 'denied' });
  // the body over the limit is refused before the route runs: counted as invalid, with no line of its own
  expect(lines().filter((l) => l.outcome === 'invalid')).toHaveLength(4);
});

test('with KUBECONFIG, the role ARN comes from the ServiceAccount through the informer', async () => {
  const kube = await startFakeKubeApi();
  try {
    kube.upsertServiceAccount('demo', 'irsa', {
      'eks.amazonaws.com/role-arn': 'arn:aws:iam::111122223333:role/from-sa',
    });
    const kubeconfig = await kube.writeKubeconfig(dir);
    wh = await startWebhookProcess({ ...baseEnv(), VAULT_IRSA_WEBHOOK_KUBERNETES: 'auto', KUBECONFIG: kubeconfig });
    await waitFor(() => kube.openWatches === 1, 'the informer watch');
    const p = {
      ...pod({ 'vault-irsa.io/role': 'app' }),
      spec: { serviceAccountName: 'irsa', containers: [{ name: 'app' }] },
    };
    const r = await postReview(wh.port, cert.cert, admissionReview(p, { namespace: 'demo' }));
    const resp = r.json().response as Record<string, unknown>;
    expect(resp.warnings).toBeUndefined();
    expect(JSON.stringify(decodePatch(resp))).toContain('arn:aws:iam::111122223333:role/from-sa');
    // answered from the cache: no GET of the single object
    expect(kube.requests.some((q) => q.path.startsWith('/api/v1/namespaces/'))).toBe(false);
    const metrics = await httpsRequest(wh.port, cert.cert, { path: '/metrics' });
    expect(metrics.body).toMatch(/vault_irsa_webhook_serviceaccount_lookups_total\{result="cache"\} 1/);
  } finally {
    await wh?.stop();
    wh = undefined;
    await kube.close();
  }
});

test('certificate files replaced in place: new connections see the new certificate', async () => {
  wh = await startWebhookProcess(baseEnv());
  const before = await httpsRequest(wh.port, cert.cert, { path: '/healthz' });
  expect(before.fingerprint256).toBe(cert.fingerprint256);

  const next = await makeTestCert();
  await writeTestCert(join(dir, 'tls'), next);
  await waitFor(async () => {
    const r = await httpsRequest(wh!.port, next.cert, { path: '/healthz' }).catch(() => undefined);
    return r?.fingerprint256 === next.fingerprint256;
  }, 'the new certificate');
  const m = await httpsRequest(wh.port, next.cert, { path: '/metrics' });
  expect(m.body).toMatch(/vault_irsa_webhook_tls_reloads_total\{result="ok"\} 1/);
});

test('a Kubernetes Secret volume update (..data symlink swap) is picked up; a broken pair is not', async () => {
  // the layout kubelet writes: tls.crt -> ..data/tls.crt, ..data -> ..<timestamp>/
  const vol = join(dir, 'secret');
  const writeVersion = async (name: string, c: TestCert | { cert: string; key: string }): Promise<void> => {
    await mkdir(join(vol, name), { recursive: true });
    await writeFile(join(vol, name, 'tls.crt'), c.cert);
    await writeFile(join(vol, name, 'tls.key'), c.key);
    await symlink(name, join(vol, '..data_tmp'));
    await rename(join(vol, '..data_tmp'), join(vol, '..data'));
  };
  await writeVersion('..v1', cert);
  await symlink('..data/tls.crt', join(vol, 'tls.crt'));
  await symlink('..data/tls.key', join(vol, 'tls.key'));
  wh = await startWebhookProcess({
    ...baseEnv(),
    VAULT_IRSA_WEBHOOK_TLS_CERT_FILE: join(vol, 'tls.crt'),
    VAULT_IRSA_WEBHOOK_TLS_KEY_FILE: join(vol, 'tls.key'),
  });
  expect((await httpsRequest(wh.port, cert.cert, { path: '/healthz' })).fingerprint256).toBe(cert.fingerprint256);

  // a certificate with another certificate's key is refused: the old pair keeps serving
  const other = await makeTestCert();
  await writeVersion('..v2', { cert: other.cert, key: cert.key });
  await waitFor(
    () => wh!.logs.some((l) => l.msg === 'TLS certificate change not applied; keeping the current one'),
    'the refused pair to be logged',
  );
  expect((await httpsRequest(wh.port, cert.cert, { path: '/healthz' })).fingerprint256).toBe(cert.fingerprint256);
  expect(JSON.stringify(wh.logs)).not.toContain('PRIVATE KEY');

  await writeVersion('..v3', other);
  await waitFor(async () => {
    const r = await httpsRequest(wh!.port, other.cert, { path: '/healthz' }).catch(() => undefined);
    return r?.fingerprint256 === other.fingerprint256;
  }, 'the swapped certificate');
});

test('SIGTERM: an in-flight review finishes, then the process exits 0', async () => {
  wh = await startWebhookProcess(baseEnv());
  const body = Buffer.from(JSON.stringify(admissionReview(pod({ 'vault-irsa.io/role': 'app' }), { uid: 'inflight' })));
  let headersFlushed: () => void = () => undefined;
  const headersSent = new Promise<void>((resolve) => (headersFlushed = resolve));
  const answer = new Promise<{ status: number; text: string }>((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port: wh!.port,
        method: 'POST',
        path: '/mutate',
        ca: cert.cert,
        agent: false,
        headers: { 'content-type': 'application/json', 'content-length': body.length },
      },
      (res) => {
        let text = '';
        res.on('data', (c: Buffer) => (text += c.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
      },
    );
    req.on('error', reject);
    // headers and part of the body now; the rest only after the webhook has started shutting down
    req.write(body.subarray(0, 100), () => headersFlushed());
    waitFor(
      () => wh!.logs.some((l) => l.msg === 'shutting down: finishing in-flight requests'),
      'the shutdown log line',
    ).then(() => req.end(body.subarray(100)), reject);
  });
  await headersSent;
  // let the server parse the request head, so the request is in flight (not an idle connection)
  await new Promise((r) => setTimeout(r, 300));
  wh.child.kill('SIGTERM');
  const r = await answer;
  expect(r.status).toBe(200);
  expect(JSON.parse(r.text).response).toMatchObject({ uid: 'inflight', allowed: true });
  expect(await wh.exited).toEqual({ code: 0, signal: null });
  // no new connections after shutdown
  await expect(httpsRequest(wh.port, cert.cert, { path: '/healthz' })).rejects.toThrow();
});
