/**
 * `npm run demo`: the whole vault-irsa flow on one machine, no cluster and no cloud.
 * Stand-ins for the cluster's OIDC issuer, STS and Vault (or a real `vault server -dev` when `vault` is on
 * PATH) → the built webhook over HTTPS admits a sample pod → the built sidecar runs from the patched spec →
 * this process acts as the app: reads, long-polls a change, rides out a Vault outage, and stops the pod.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startProcess, waitFor, type TestProcess } from '../stand-ins/child.js';
import { findContainer, layOutVolumes, localEnv } from '../stand-ins/local-pod.js';
import { freePorts } from '../stand-ins/ports.js';
import { makeTestCert, writeTestCert } from '../stand-ins/tls.js';
import { detectVaultBinary } from '../stand-ins/vault-dev-server.js';
import { DEBIAN_PYTHON, detectHvac, runPython } from '../stand-ins/vault-clients.js';
import { admitOverHttps, describeInjection, samplePod } from './admission.js';
import { startDemoVault } from './vault-backend.js';
import { brief, Narrator } from './narrator.js';

const bin = (name: string): string => fileURLToPath(new URL(`../bin/${name}.js`, import.meta.url));
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

interface AppClient {
  get(
    path: string,
    headers?: Record<string, string>,
  ): Promise<{ status: number; etag: string | null; text: string; json: () => Record<string, unknown> }>;
}

async function run(say: Narrator, cleanups: Array<() => Promise<unknown>>): Promise<void> {
  say.title('vault-irsa demo: Vault secrets for a pod through IRSA, on one machine, no cluster, no cloud');

  say.section('Local stand-ins for EKS, AWS and Vault');
  const backend = await startDemoVault();
  cleanups.push(() => backend.close());
  say.line(`OIDC issuer  ${backend.oidcUrl}   signs projected ServiceAccount tokens, as EKS's issuer does`);
  say.line(`STS          ${backend.stsUrl}   AssumeRoleWithWebIdentity; GetCallerIdentity with SigV4 re-checked`);
  say.line(`Vault        ${backend.addr}   ${backend.label}`);
  say.detail(`auth/aws: role "${backend.vaultRole}" (auth_type=iam) bound to ${backend.roleArn}`);
  say.detail(`KV v2 secret/my-app = ${brief(backend.seed)}`);

  say.section('The admission webhook (dist/bin/vault-irsa-webhook.js, HTTPS)');
  const root = await mkdtemp(join(tmpdir(), 'vault-irsa-demo-'));
  cleanups.push(() => rm(root, { recursive: true, force: true }));
  const cert = await makeTestCert();
  const tls = await writeTestCert(join(root, 'webhook-tls'), cert);
  const webhook = startProcess(process.execPath, [bin('vault-irsa-webhook')], {
    VAULT_IRSA_WEBHOOK_PORT: '0',
    VAULT_IRSA_WEBHOOK_LISTEN_HOST: '127.0.0.1',
    VAULT_IRSA_WEBHOOK_TLS_CERT_FILE: tls.certFile,
    VAULT_IRSA_WEBHOOK_TLS_KEY_FILE: tls.keyFile,
    VAULT_IRSA_WEBHOOK_VAULT_ADDR: backend.addr,
    VAULT_IRSA_WEBHOOK_IAM_SERVER_ID: backend.iamServerId,
    // where the sidecar's AssumeRoleWithWebIdentity goes; the login stays signed for sts.amazonaws.com
    VAULT_IRSA_WEBHOOK_AWS_ENDPOINT_URL_STS: backend.stsUrl,
    VAULT_IRSA_WEBHOOK_KUBERNETES: 'off',
  });
  cleanups.push(() => webhook.stop('SIGTERM', 3000));
  const listening = JSON.parse(await webhook.waitForLine(/"msg":"listening"/, 15_000)) as { port: number };
  say.line(`listening on https://127.0.0.1:${listening.port}/mutate (the API server would call it on pod CREATE)`);

  say.section('A pod CREATE, as kube-apiserver sends it');
  const [port, healthPort] = await freePorts(2);
  const pod = samplePod({ roleArn: backend.roleArn, port: port!, healthPort: healthPort! });
  for (const [k, v] of Object.entries(pod.metadata.annotations)) say.detail(`${k}: ${v}`);
  const admitted = await admitOverHttps(listening.port, cert.cert, pod);
  say.line(`allowed: ${admitted.allowed}, ${admitted.ops.length} JSON-patch operations`);
  for (const l of describeInjection(admitted.pod)) say.line(`+ ${l}`);
  for (const w of admitted.warnings) say.line(`warning: ${w}`);

  say.section('The kubelet starts the pod: the sidecar first, from the patched spec');
  const dirs = await layOutVolumes(admitted.pod, root, ({ audience, expiresInSeconds }) =>
    backend.mintServiceAccountToken({ audience, expiresInSeconds }),
  );
  const { container: sidecarSpec, init } = findContainer(admitted.pod, 'vault-irsa');
  const sidecarEnv = localEnv(sidecarSpec, dirs);
  const startedAt = Date.now();
  const sidecar = startProcess(process.execPath, [bin('vault-irsa-sidecar'), ...(sidecarSpec.args ?? [])], sidecarEnv, {
    cwd: root,
  });
  cleanups.push(() => sidecar.stop('SIGKILL', 1000));
  const probe = sidecarSpec.startupProbe?.httpGet ?? { path: '/readyz', port: healthPort! };
  await waitFor(
    async () => (await fetch(`http://127.0.0.1:${probe.port}${probe.path}`).catch(() => undefined))?.status === 200,
    20_000,
    20,
  ).catch(() => {
    throw new Error(`the sidecar never became ready\n${sidecar.output()}`);
  });
  say.line(
    `${init ? 'native sidecar (init container, restartPolicy: Always)' : 'classic sidecar'}: startup probe GET ${probe.path} → 200 after ${Date.now() - startedAt} ms`,
  );
  // the log lines may trail the probe answer by a moment on the pipe
  await sidecar.waitForLine(/"event":"secret_read"/, 2000).catch(() => undefined);
  for (const e of sidecarEvents(sidecar, ['login', 'secret_read'])) say.detail(`sidecar log: ${e}`);

  say.section('The app reads its secret over 127.0.0.1, with the bearer token from its read-only mount');
  const app = appClient(localEnv(findContainer(admitted.pod, 'app').container, dirs));
  const token = await app.token;
  say.detail(`VAULT_IRSA_ADDR=${app.addr}, token file ${relative(root, app.tokenFile)} (${token.length} characters)`);
  const first = await app.client.get('/v1/secrets/config');
  say.line(`GET /v1/secrets/config → ${first.status} ${brief(pick(first.json(), ['data', 'version', 'stale']))}`);
  const key = await app.client.get('/v1/secrets/config/password');
  say.line(`GET /v1/secrets/config/password → ${key.status} ${key.text}`);
  const anon = await fetch(`${app.addr}/v1/secrets/config`);
  say.line(`the same GET without the token → ${anon.status}`);
  if (first.status !== 200 || key.text !== backend.seed.password || anon.status !== 401)
    throw new Error('the app did not get its secret as expected');

  say.section('An app that already uses a Vault client reads the same secret, unchanged (vault-irsa.io/vault-api)');
  await vaultClientStep(say, localEnv(findContainer(admitted.pod, 'app').container, dirs), backend.seed.password);

  say.section('Rotation: the app long-polls; the secret changes in Vault');
  const rotated = { ...backend.seed, password: `rotated-${Math.random().toString(36).slice(2, 10)}` };
  const pollStarted = Date.now();
  const poll = app.client.get('/v1/secrets/config?wait=30s', { 'if-none-match': first.etag ?? '' });
  await sleep(200);
  await backend.writeSecret(rotated);
  say.line(`vault kv put secret/my-app password=${rotated.password}`);
  const changed = await poll;
  const changedBody = changed.json() as { data?: { password?: string }; version?: number };
  say.line(
    `long poll (If-None-Match ${first.etag}) → ${changed.status} after ${Date.now() - pollStarted} ms, version ${changedBody.version}, ETag ${changed.etag}`,
  );
  if (changed.status !== 200 || changedBody.data?.password !== rotated.password)
    throw new Error('the long poll did not deliver the new value');

  say.section('Vault goes down: the sidecar keeps serving the last value, marked stale');
  await backend.stop();
  say.line(`Vault stopped (${backend.addr} refuses connections)`);
  const stale = await waitFor(
    async () => {
      const r = await app.client.get('/v1/secrets/config');
      return r.json().stale === true ? r : undefined;
    },
    20_000,
    100,
  );
  say.line(`GET /v1/secrets/config → ${stale.status} ${brief(pick(stale.json(), ['data', 'version', 'stale']))}`);
  await sidecar.waitForLine(/"event":"secret_stale"/, 2000).catch(() => undefined);
  for (const e of sidecarEvents(sidecar, ['secret_stale'])) say.detail(`sidecar log: ${e}`);
  if (backend.start) {
    await backend.start();
    const fresh = await waitFor(
      async () => {
        const r = await app.client.get('/v1/secrets/config');
        return r.json().stale === false ? r : undefined;
      },
      20_000,
      100,
    );
    say.line(`Vault back → the next refresh clears it: stale: ${String(fresh.json().stale)}`);
  } else {
    say.detail('a dev server keeps its data in memory only, so it is not restarted here');
  }

  say.section('The pod is deleted: SIGTERM');
  const exit = await sidecar.stop('SIGTERM', 8000);
  say.line(
    `sidecar exited with code ${exit.code}${backend.start ? `; Vault tokens still live: ${backend.liveTokens?.() ?? 'n/a'}` : ''}`,
  );
  for (const e of sidecarEvents(sidecar, ['token_revoked', 'token_revoke_failed', 'stopped']))
    say.detail(`sidecar log: ${e}`);
  if (exit.code !== 0) throw new Error(`the sidecar exited with ${exit.code ?? exit.signal}`);

  say.section('What the sidecar left behind');
  const out = sidecar.output();
  const lines = out.split('\n').filter(Boolean).length;
  const held = [backend.seed.password, rotated.password, token, ...backend.heldCredentials()];
  const leaked = held.filter((v) => v.length > 0 && out.includes(v));
  const files = (await listFiles(root)).filter((f) => !f.startsWith('webhook-tls/'));
  say.line(
    `${lines} log lines: ${leaked.length === 0 ? 'no secret value, request token, ServiceAccount token or AWS key in them' : `${leaked.length} held values LEAKED`}`,
  );
  say.line(
    `files under the pod's directory: ${files.join(', ')} (the projected token and the request token, nothing else)`,
  );
  if (leaked.length > 0) throw new Error('the sidecar logged a value it holds');
}

/**
 * hvac (or else the vault CLI) with VAULT_ADDR as the webhook set it and the token from the file: Vault's
 * own paths and answer shapes, served by the sidecar from memory. Where neither exists, says so and goes on.
 */
async function vaultClientStep(say: Narrator, env: Record<string, string>, expected: string): Promise<void> {
  const vaultAddr = env.VAULT_ADDR;
  const tokenFile = env.VAULT_IRSA_TOKEN_FILE;
  if (!vaultAddr || !tokenFile)
    throw new Error('the webhook did not give the app container VAULT_ADDR (vault-irsa.io/vault-api)');
  say.detail(`VAULT_ADDR=${vaultAddr} (the sidecar, not Vault); the token is the same file`);
  // VAULT_IRSA_DEMO_PYTHON: another interpreter (the tests point it at a missing one to see the step skip)
  const python = process.env.VAULT_IRSA_DEMO_PYTHON || DEBIAN_PYTHON;
  const hvac = detectHvac(python);
  if (hvac.ok) {
    say.line(
      'python3: hvac.Client(url=VAULT_ADDR, token=open(VAULT_IRSA_TOKEN_FILE).read()).secrets.kv.v2.read_secret_version("my-app")',
    );
    const code = [
      'import hvac, json, os',
      'c = hvac.Client(url=os.environ["VAULT_ADDR"], token=open(os.environ["VAULT_IRSA_TOKEN_FILE"]).read())',
      'r = c.secrets.kv.v2.read_secret_version(path="my-app", mount_point="secret")',
      'print(json.dumps({"password": r["data"]["data"]["password"], "version": r["data"]["metadata"]["version"]}))',
    ].join('\n');
    const r = await runPython(code, { VAULT_ADDR: vaultAddr, VAULT_IRSA_TOKEN_FILE: tokenFile }, { python });
    const out = r.code === 0 ? (JSON.parse(r.stdout.trim()) as { password?: string; version?: number }) : {};
    say.line(`→ password ${out.password ?? '(none)'}, version ${out.version ?? '?'}`);
    if (out.password !== expected)
      throw new Error(`hvac did not read the secret through the sidecar: ${r.stderr.trim().split('\n').pop() ?? ''}`);
    return;
  }
  const cli = process.env.VAULT_IRSA_DEMO_PYTHON
    ? { ok: false as const, reason: 'not tried (VAULT_IRSA_DEMO_PYTHON is set)' }
    : detectVaultBinary();
  if (cli.ok) {
    say.line('VAULT_TOKEN=$(cat "$VAULT_IRSA_TOKEN_FILE") vault kv get -field=password secret/my-app');
    const token = (await readFile(tokenFile, 'utf8')).trim();
    const r = await new Promise<{ code: number | null; stdout: string }>((resolve) => {
      const p = spawn(cli.bin, ['kv', 'get', '-field=password', 'secret/my-app'], {
        env: { PATH: process.env.PATH ?? '', HOME: tmpdir(), VAULT_ADDR: vaultAddr, VAULT_TOKEN: token },
      });
      let stdout = '';
      p.stdout.on('data', (c: Buffer) => (stdout += c.toString('utf8')));
      p.on('close', (code) => resolve({ code, stdout }));
      p.on('error', () => resolve({ code: null, stdout }));
    });
    say.line(`→ ${r.stdout.trim() || `(exit ${r.code})`}`);
    if (r.stdout.trim() !== expected) throw new Error('the vault CLI did not read the secret through the sidecar');
    return;
  }
  say.line(`skipped here: no hvac (${hvac.reason}) and no vault CLI (${cli.reason}); the demo goes on`);
}

function appClient(env: Record<string, string>) {
  const addr = env.VAULT_IRSA_ADDR;
  const tokenFile = env.VAULT_IRSA_TOKEN_FILE;
  if (!addr || !tokenFile)
    throw new Error('the webhook did not give the app container VAULT_IRSA_ADDR and VAULT_IRSA_TOKEN_FILE');
  const token = readFile(tokenFile, 'utf8').then((t) => t.trim());
  const client: AppClient = {
    async get(path, headers = {}) {
      const r = await fetch(`${addr}${path}`, { headers: { authorization: `Bearer ${await token}`, ...headers } });
      const text = await r.text();
      return {
        status: r.status,
        etag: r.headers.get('etag'),
        text,
        json: () => JSON.parse(text) as Record<string, unknown>,
      };
    },
  };
  return { addr, tokenFile, token, client };
}

function pick(o: Record<string, unknown>, keys: string[]): Record<string, unknown> {
  return Object.fromEntries(keys.filter((k) => k in o).map((k) => [k, o[k]]));
}

/** The sidecar's JSON log lines with one of these events, shortened for display. */
function sidecarEvents(p: TestProcess, events: string[]): string[] {
  const out: string[] = [];
  for (const line of p.output().split('\n')) {
    let o: Record<string, unknown>;
    try {
      o = JSON.parse(line) as Record<string, unknown>;
    } catch {
      continue;
    }
    if (typeof o.event !== 'string' || !events.includes(o.event)) continue;
    const { level: _l, time: _t, pid: _p, hostname: _h, name: _n, msg, event, ...rest } = o;
    out.push(`${String(event)}: ${String(msg)} ${brief(rest, 90)}`);
  }
  return out;
}

async function listFiles(dir: string, base = dir): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...(await listFiles(p, base)));
    else out.push(relative(base, p));
  }
  return out.sort();
}

async function main(): Promise<void> {
  const say = new Narrator();
  const cleanups: Array<() => Promise<unknown>> = [];
  let failed: unknown;
  try {
    await run(say, cleanups);
  } catch (e) {
    failed = e;
  }
  for (const c of cleanups.reverse()) await c().catch(() => undefined);
  if (failed !== undefined) {
    process.stderr.write(`\ndemo failed: ${failed instanceof Error ? failed.message : String(failed)}\n`);
    process.exit(1);
  }
  say.line('');
  say.title(`demo finished in ${(say.elapsedMs() / 1000).toFixed(1)} s: every step passed`);
  process.exit(0);
}

await main();
