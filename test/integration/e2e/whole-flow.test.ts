/**
 * The one-machine flow, end to end through the built programs: the webhook process over HTTPS admits a pod
 * (role ARN from its ServiceAccount, read through the informer from a list/watch API server), the patch is
 * applied, the sidecar starts from the patched container spec (env as written, paths mapped to temp files),
 * and the app container's env leads a client to its secrets with the bearer token from the token file.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startProcess, waitFor, type TestProcess } from '../../../stand-ins/child.js';
import { startFakeKubeApi, type FakeKubeApi } from '../../support/fake-kube-api.js';
import { findContainer, layOutVolumes, localEnv, type PodSpecView } from '../../../stand-ins/local-pod.js';
import { freePorts } from '../../../stand-ins/ports.js';
import { STACK_SEED, startStack, type StackExt } from '../../../stand-ins/stack.js';
import { makeTestCert, writeTestCert, type TestCert } from '../../../stand-ins/tls.js';
import { admissionReview, applyOps } from '../../unit/webhook/helpers.js';
import { SIDECAR_BIN } from '../sidecar/helpers.js';
import {
  postReview,
  startWebhookProcess,
  waitFor as waitForCondition,
  type WebhookProcess,
} from '../webhook/webhook-process.js';

let stack: StackExt;
let kube: FakeKubeApi;
let webhook: WebhookProcess;
let cert: TestCert;
let dir: string;
const running: TestProcess[] = [];

beforeAll(async () => {
  stack = await startStack();
  kube = await startFakeKubeApi();
  kube.upsertServiceAccount('demo', 'app', { 'eks.amazonaws.com/role-arn': stack.roleArn });
  dir = await mkdtemp(join(tmpdir(), 'vault-irsa-e2e-'));
  cert = await makeTestCert();
  const tls = await writeTestCert(join(dir, 'tls'), cert);
  webhook = await startWebhookProcess({
    VAULT_IRSA_WEBHOOK_TLS_CERT_FILE: tls.certFile,
    VAULT_IRSA_WEBHOOK_TLS_KEY_FILE: tls.keyFile,
    VAULT_IRSA_WEBHOOK_VAULT_ADDR: stack.vault.addr,
    VAULT_IRSA_WEBHOOK_IAM_SERVER_ID: 'vault.example.com',
    VAULT_IRSA_WEBHOOK_AWS_ENDPOINT_URL_STS: stack.sts.url,
    VAULT_IRSA_WEBHOOK_KUBERNETES: 'auto',
    // a plain kubeconfig for an http:// API server, without insecure-skip-tls-verify
    KUBECONFIG: await kube.writeKubeconfig(dir, { markInsecure: false }),
  });
  await waitForCondition(() => kube.openWatches === 1, 'the ServiceAccount informer');
});

afterAll(async () => {
  for (const p of running) await p.stop('SIGKILL', 1000).catch(() => undefined);
  await webhook?.stop();
  await kube?.close();
  await stack?.close();
  await rm(dir, { recursive: true, force: true });
});

async function admitAndLayOut(mode: 'native' | 'classic', name: string) {
  const [port, healthPort] = await freePorts(2);
  const pod: PodSpecView & Record<string, unknown> = {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name,
      namespace: 'demo',
      annotations: {
        'vault-irsa.io/role': stack.vaultRole,
        'vault-irsa.io/secret-config': 'secret/my-app',
        'vault-irsa.io/secret-db': 'database/creds/app',
        'vault-irsa.io/sidecar-mode': mode,
        'vault-irsa.io/port': String(port),
        'vault-irsa.io/health-port': String(healthPort),
      },
    },
    spec: { serviceAccountName: 'app', containers: [{ name: 'app', image: 'ghcr.io/example/web:1.0' }] },
  };
  const answer = await postReview(webhook.port, cert.cert, admissionReview(pod));
  expect(answer.status).toBe(200);
  const response = answer.json().response as { allowed: boolean; patch: string; warnings?: string[] };
  expect(response.allowed).toBe(true);
  expect(response.warnings).toBeUndefined();
  const patched = applyOps(pod, JSON.parse(Buffer.from(response.patch, 'base64').toString('utf8')));
  const root = await mkdtemp(join(dir, `${name}-`));
  const dirs = await layOutVolumes(patched, root, ({ audience, expiresInSeconds }) =>
    stack.oidc.mintToken({ namespace: 'demo', serviceAccount: 'app', audience: [audience], expiresInSeconds }),
  );
  return { patched, dirs, root };
}

function startContainer(args: string[], env: Record<string, string>, cwd: string): TestProcess {
  const p = startProcess(process.execPath, [SIDECAR_BIN, ...args], env, { cwd });
  running.push(p);
  return p;
}

test('native: the patched sidecar logs in with the ServiceAccount role and serves the app both secrets', async () => {
  const { patched, dirs, root } = await admitAndLayOut('native', 'web');
  const { container: sidecarSpec, init } = findContainer(patched, 'vault-irsa');
  expect(init).toBe(true);
  const sidecarEnv = localEnv(sidecarSpec, dirs);
  expect(sidecarEnv.AWS_ROLE_ARN).toBe(stack.roleArn);
  expect(sidecarEnv.AWS_WEB_IDENTITY_TOKEN_FILE).toBe(join(dirs.get('aws-iam-token')!, 'token'));
  expect(sidecarSpec.command).toEqual(['vault-irsa-sidecar']);
  const sidecar = startContainer(sidecarSpec.args ?? [], sidecarEnv, root);

  // the kubelet's startup probe, as written in the spec
  const probe = sidecarSpec.startupProbe?.httpGet;
  expect(probe?.path).toBe('/readyz');
  await waitFor(
    async () => (await fetch(`http://127.0.0.1:${probe!.port}/readyz`).catch(() => undefined))?.status === 200,
    20_000,
  );

  // the app: nothing but its own env and the read-only mount
  const appEnv = localEnv(findContainer(patched, 'app').container, dirs);
  const token = (await readFile(appEnv.VAULT_IRSA_TOKEN_FILE!, 'utf8')).trim();
  const get = (path: string, auth = `Bearer ${token}`) =>
    fetch(`${appEnv.VAULT_IRSA_ADDR}${path}`, { headers: { authorization: auth } });
  const config = await get('/v1/secrets/config');
  expect(config.status).toBe(200);
  expect(await config.json()).toMatchObject({
    name: 'config',
    path: 'secret/my-app',
    data: STACK_SEED,
    version: 1,
    stale: false,
  });
  expect(await (await get('/v1/secrets/config/password')).text()).toBe(STACK_SEED.password);
  const db = (await (await get('/v1/secrets/db')).json()) as { data: Record<string, string>; leaseDuration: number };
  expect(db.data.username).toEqual(expect.any(String));
  expect(db.leaseDuration).toBeGreaterThan(0);
  expect((await get('/v1/secrets/config', 'Bearer wrong')).status).toBe(403);

  // it logged in as the ServiceAccount's IAM role, through the signed GetCallerIdentity
  expect(stack.vault.logins.filter((l) => l.ok).map((l) => l.role)).toContain(stack.vaultRole);
  expect(stack.sts.calls.some((c) => c.action === 'GetCallerIdentity' && c.ok)).toBe(true);

  const exit = await sidecar.stop('SIGTERM', 8000);
  expect(exit.code).toBe(0);
});

test('classic: the postStart command from the spec returns once the sidecar is ready', async () => {
  const { patched, dirs, root } = await admitAndLayOut('classic', 'web-classic');
  const { container: sidecarSpec, init } = findContainer(patched, 'vault-irsa');
  expect(init).toBe(false);
  expect(patched.spec.containers[0]?.name).toBe('vault-irsa');
  const hook = sidecarSpec.lifecycle?.postStart?.exec?.command ?? [];
  expect(hook).toEqual(['vault-irsa-sidecar', 'wait']);
  const sidecarEnv = localEnv(sidecarSpec, dirs);
  const sidecar = startContainer(sidecarSpec.args ?? [], sidecarEnv, root);
  // the kubelet runs the hook in the sidecar's own container, with its env, right after starting it
  const waiter = startContainer(hook.slice(1), sidecarEnv, root);
  const waited = await waiter.waitForExit(30_000);
  expect(waited.code).toBe(0);
  const appEnv = localEnv(findContainer(patched, 'app').container, dirs);
  const token = (await readFile(appEnv.VAULT_IRSA_TOKEN_FILE!, 'utf8')).trim();
  const r = await fetch(`${appEnv.VAULT_IRSA_ADDR}/v1/secrets/config/username`, {
    headers: { authorization: `Bearer ${token}` },
  });
  expect(await r.text()).toBe(STACK_SEED.username);
  expect((await sidecar.stop('SIGTERM', 8000)).code).toBe(0);
});
