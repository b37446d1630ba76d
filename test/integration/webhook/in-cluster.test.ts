/**
 * The built webhook in a pod's setting: KUBERNETES_SERVICE_HOST/PORT and the ServiceAccount's token, ca.crt and
 * namespace files (under a temporary prefix), an API server stand-in over HTTPS, TLS mode auto and the
 * ServiceAccount cache both on. It must work without @kubernetes/client-node ever being loaded: every module the
 * process resolves is written down by a module hook, and the same run with a KUBECONFIG shows the hook sees it.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { makeTestCert, type TestCert } from '../../../stand-ins/tls.js';
import { ConfigError } from '../../../webhook/config.js';
import { startWebhook } from '../../../webhook/main.js';
import { createLogger } from '../../../webhook/logger.js';
import { startFakeKubeApi, type FakeKubeApi, type Obj } from '../../support/fake-kube-api.js';
import { admissionReview } from '../../unit/webhook/helpers.js';
import { BIN, requireBuild, startWebhookProcess, waitFor, type WebhookProcess } from './webhook-process.js';

const NS = 'vault-irsa';
const ROLE = 'arn:aws:iam::111122223333:role/from-sa';
const MAIN = BIN.replace(/bin[/\\]vault-irsa-webhook\.js$/, 'webhook/main.js');

let cert: TestCert;
let kube: FakeKubeApi;
let dir: string;
let wh: WebhookProcess | undefined;

const HOOKS = `import { appendFileSync } from 'node:fs';
export async function resolve(specifier, context, next) {
  const r = await next(specifier, context);
  appendFileSync(process.env.LOAD_TRACE_FILE, r.url + '\\n');
  return r;
}
`;

beforeAll(async () => {
  requireBuild();
  cert = await makeTestCert({ dnsNames: ['localhost'], ips: ['127.0.0.1'] });
});
beforeEach(async () => {
  kube = await startFakeKubeApi({ tls: cert });
  dir = await mkdtemp(join(tmpdir(), 'vault-irsa-incluster-'));
  kube.putSecret(NS, 'vault-irsa-tls');
  kube.putWebhookConfiguration({
    apiVersion: 'admissionregistration.k8s.io/v1',
    kind: 'MutatingWebhookConfiguration',
    metadata: { name: 'vault-irsa' },
    webhooks: [
      {
        name: 'inject.vault-irsa.io',
        admissionReviewVersions: ['v1'],
        sideEffects: 'None',
        clientConfig: { service: { name: 'vault-irsa', namespace: NS, path: '/mutate', port: 443 } },
      },
    ],
  });
  kube.upsertServiceAccount('demo', 'irsa', { 'eks.amazonaws.com/role-arn': ROLE });
  await writeFile(join(dir, 'hooks.mjs'), HOOKS);
  await writeFile(
    join(dir, 'register.mjs'),
    `import { register } from 'node:module';\nregister(${JSON.stringify(pathToFileURL(join(dir, 'hooks.mjs')).href)});\n`,
  );
  // the entry the binary runs, with the ServiceAccount files' prefix passed in
  await writeFile(
    join(dir, 'driver.mjs'),
    `import { runMain } from ${JSON.stringify(pathToFileURL(MAIN).href)};\nawait runMain(process.env, { kubePathPrefix: process.env.TEST_KUBE_PREFIX });\n`,
  );
});
afterEach(async () => {
  await wh?.stop();
  wh = undefined;
  await kube.close();
  await rm(dir, { recursive: true, force: true });
});

async function start(extra: Record<string, string>): Promise<string[]> {
  const trace = join(dir, 'trace.txt');
  await writeFile(trace, '');
  wh = await startWebhookProcess(
    {
      VAULT_IRSA_WEBHOOK_VAULT_ADDR: 'https://vault.example.com:8200',
      VAULT_IRSA_WEBHOOK_TLS_MODE: 'auto',
      VAULT_IRSA_WEBHOOK_KUBERNETES: 'auto',
      LOAD_TRACE_FILE: trace,
      TEST_KUBE_PREFIX: dir,
      ...extra,
    },
    ['--import', pathToFileURL(join(dir, 'register.mjs')).href, join(dir, 'driver.mjs')],
  );
  await waitFor(() => kube.openWatches === 1, 'the ServiceAccount watch');
  return (await readFile(trace, 'utf8')).split('\n').filter(Boolean);
}

function review(port: number, ca: string, body: unknown): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port,
        method: 'POST',
        path: '/mutate',
        ca,
        servername: `vault-irsa.${NS}.svc`,
        agent: false,
        headers: { 'content-type': 'application/json' },
      },
      (res) => {
        let text = '';
        res.on('data', (c: Buffer) => (text += c.toString()));
        res.on('end', () => resolve(JSON.parse(text) as Record<string, unknown>));
      },
    );
    req.on('error', reject);
    req.end(JSON.stringify(body));
  });
}

test('in a pod it makes its certificate and reads ServiceAccounts without loading @kubernetes/client-node', async () => {
  const env = await kube.writeInCluster(dir, 'pod-token', NS);
  kube.tokens = new Set(['pod-token']);
  const loaded = await start(env);

  expect(loaded.some((u) => u.includes('/dist/webhook/server.js'))).toBe(true); // the hook does see the modules
  expect(loaded.filter((u) => u.includes('@kubernetes') || u.includes('kube-client'))).toEqual([]);

  // the certificate the API server stand-in was given trusts the serving one
  const hook = kube.getWebhookConfiguration('vault-irsa') as { webhooks: Array<{ clientConfig: Obj }> };
  const ca = Buffer.from(String(hook.webhooks[0]?.clientConfig.caBundle), 'base64').toString('utf8');
  const pod = {
    metadata: { generateName: 'x-', annotations: { 'vault-irsa.io/role': 'app' } },
    spec: { serviceAccountName: 'irsa', containers: [{ name: 'app' }] },
  };
  const answer = await review(wh?.port ?? 0, ca, admissionReview(pod, { namespace: 'demo' }));
  const response = answer.response as { patch: string; warnings?: string[] };
  expect(response.warnings).toBeUndefined();
  expect(Buffer.from(response.patch, 'base64').toString('utf8')).toContain(ROLE);
  // from the cache: no GET of the object
  expect(kube.requests.some((q) => q.path === '/api/v1/namespaces/demo/serviceaccounts/irsa')).toBe(false);
  expect(new Set(kube.requests.map((r) => r.auth))).toEqual(new Set(['Bearer pod-token']));
  expect(wh?.logs.some((l) => l.msg === 'listening' && l.kubernetes === 'on' && l.tlsMode === 'auto')).toBe(true);
});

test('the same run with a KUBECONFIG does load client-node (the trace would see it)', async () => {
  kube.tokens = undefined;
  // the kubeconfig names the stand-in's CA: client-node reads it as a user's kubeconfig would give it
  await writeFile(join(dir, 'ca.crt'), cert.cert);
  const kc = (await readFile(await kube.writeKubeconfig(dir, { markInsecure: false }), 'utf8')).replace(
    /(server: .*\n)/,
    `$1    certificate-authority: ${join(dir, 'ca.crt')}\n`,
  );
  await writeFile(join(dir, 'kubeconfig'), kc);
  const loaded = await start({ KUBECONFIG: join(dir, 'kubeconfig'), VAULT_IRSA_WEBHOOK_NAMESPACE: NS });
  expect(loaded.some((u) => u.includes('kube-client.js'))).toBe(true);
  expect(loaded.some((u) => u.includes('@kubernetes/client-node'))).toBe(true);
});

test('a KUBERNETES_SERVICE_PORT that is not a port stops the start with an error naming it', async () => {
  const env = await kube.writeInCluster(dir, 'pod-token', NS);
  await expect(
    startWebhook(
      {
        VAULT_IRSA_WEBHOOK_VAULT_ADDR: 'https://vault.example.com:8200',
        VAULT_IRSA_WEBHOOK_PORT: '0',
        VAULT_IRSA_WEBHOOK_LISTEN_HOST: '127.0.0.1',
        VAULT_IRSA_WEBHOOK_TLS_MODE: 'auto',
        ...env,
        KUBERNETES_SERVICE_PORT: 'https',
      },
      { logger: createLogger('silent'), kubePathPrefix: dir },
    ),
  ).rejects.toThrow(
    new ConfigError(
      'the Kubernetes API configuration',
      'is not usable: KUBERNETES_SERVICE_PORT is not a port number: "https"',
    ),
  );
});
