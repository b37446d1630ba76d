import { readFile } from 'node:fs/promises';
import { startStack, STACK_SEED, type StackExt } from '../../../stand-ins/stack.js';
import { startProcess } from '../../../stand-ins/child.js';
import type { IssuedCredentials } from '../../../stand-ins/types.js';
import { cleanup, filesUnder, SIDECAR_BIN, startSidecar, waitFor, waitReady, type RunningSidecar } from './helpers.js';

let stack: StackExt;
let sidecar: RunningSidecar | undefined;
const issued: IssuedCredentials[] = [];

beforeAll(async () => {
  stack = await startStack();
  const original = stack.sts.issueCredentials.bind(stack.sts);
  stack.sts.issueCredentials = (...args: Parameters<typeof original>) => {
    const c = original(...args);
    issued.push(c);
    return c;
  };
  stack.vault.writeKv('secret', 'typed', { port: 5432, enabled: true, text: 'plain-text-value-42' });
  sidecar = await startSidecar(
    stack.sidecarEnv({
      VAULT_IRSA_SECRETS: JSON.stringify({
        app: 'secret/my-app',
        legacy: 'kv1/app',
        typed: 'secret/typed',
        db: 'database/creds/app',
      }),
      VAULT_IRSA_LOG_LEVEL: 'debug',
    }),
  );
  await waitReady(sidecar);
});

afterAll(async () => {
  await cleanup(sidecar);
  await stack?.close();
});

describe('the built sidecar against the stand-ins', () => {
  it('logged in through IRSA: AssumeRoleWithWebIdentity, then a signed GetCallerIdentity Vault accepted', () => {
    expect(stack.sts.calls.some((c) => c.action === 'AssumeRoleWithWebIdentity' && c.ok)).toBe(true);
    expect(stack.vault.logins.filter((l) => l.ok)).toHaveLength(1);
    expect(stack.vault.logins[0]).toMatchObject({ ok: true, role: 'app' });
    expect(stack.sts.calls.find((c) => c.action === 'GetCallerIdentity')).toMatchObject({
      ok: true,
      host: 'sts.amazonaws.com',
    });
  });

  it('request token file: 32 random bytes, mode 0644', async () => {
    const s = sidecar as RunningSidecar;
    expect(Buffer.from(s.requestToken, 'base64url')).toHaveLength(32);
    const { stat } = await import('node:fs/promises');
    expect((await stat(s.tokenFile)).mode & 0o777).toBe(0o644);
  });

  it('serves KV v2, KV v1 and a dynamic secret', async () => {
    const s = sidecar as RunningSidecar;
    const app = await s.get('/v1/secrets/app');
    expect(app.status).toBe(200);
    expect(app.headers.get('cache-control')).toBe('no-store');
    expect(app.headers.get('etag')).toBeTruthy();
    expect(app.json()).toMatchObject({
      name: 'app',
      path: 'secret/my-app',
      data: STACK_SEED,
      version: 1,
      stale: false,
    });
    expect((await s.get('/v1/secrets/app/password')).body).toBe(STACK_SEED.password);
    expect((await s.get('/v1/secrets/legacy')).json()).toMatchObject({ data: { api_key: 'kv1-api-key' } });
    const db = (await s.get('/v1/secrets/db')).json();
    expect(db.leaseDuration).toBeGreaterThan(0);
    expect(Object.keys(db.data).length).toBeGreaterThan(0);
    const typed = await s.get('/v1/secrets/typed/port');
    expect(typed.headers.get('content-type')).toMatch(/application\/json/);
    expect(typed.body).toBe('5432');
    // KV v2 read at <mount>/data/<path>, after detecting the version
    const paths = stack.vault.requests.map((r) => r.path);
    expect(paths).toContain('secret/data/my-app');
    expect(paths).toContain('kv1/app');
    expect(paths.some((p) => p.startsWith('sys/internal/ui/mounts/'))).toBe(true);
  });

  it('lists without values', async () => {
    const r = await (sidecar as RunningSidecar).get('/v1/secrets');
    expect(r.status).toBe(200);
    expect(
      r
        .json()
        .secrets.map((x: { name: string }) => x.name)
        .sort(),
    ).toEqual(['app', 'db', 'legacy', 'typed']);
    expect(r.body).not.toContain(STACK_SEED.password);
  });

  it('401 without a token, 403 with a wrong one, 400 with X-Forwarded-For, 404 undeclared', async () => {
    const s = sidecar as RunningSidecar;
    const none = await fetch(`${s.api}/v1/secrets/app`);
    expect(none.status).toBe(401);
    expect(((await none.json()) as { error: { code: string } }).error.code).toBe('unauthorized');
    expect((await s.get('/v1/secrets/app', { authorization: 'Bearer wrong' })).status).toBe(403);
    const xff = await s.get('/v1/secrets/app', { 'x-forwarded-for': '10.1.2.3' });
    expect(xff.status).toBe(400);
    expect(xff.json().error.code).toBe('forwarded_request');
    expect(xff.body).not.toContain(STACK_SEED.password);
    const nd = await s.get('/v1/secrets/nope');
    expect(nd.status).toBe(404);
    expect(nd.json().error.code).toBe('secret_not_declared');
  });

  it('health listener: probes and metrics only, never a secret', async () => {
    const s = sidecar as RunningSidecar;
    expect((await fetch(`${s.health}/healthz`)).status).toBe(200);
    expect((await fetch(`${s.health}/readyz`)).status).toBe(200);
    const secrets = await fetch(`${s.health}/v1/secrets/app`, {
      headers: { authorization: `Bearer ${s.requestToken}` },
    });
    expect(secrets.status).toBe(404);
    expect(await secrets.text()).not.toContain(STACK_SEED.password);
    const metrics = await (await fetch(`${s.health}/metrics`)).text();
    expect(metrics).toMatch(/vault_irsa_logins_total\{outcome="success"\} 1/);
    expect(metrics).toMatch(/vault_irsa_vault_requests_total\{operation="read",outcome="200"\}/);
    expect(metrics).toContain('vault_irsa_secret_reads_total');
    expect(metrics).not.toContain(STACK_SEED.password);
  });

  it('long poll: 304 when wait runs out', async () => {
    const s = sidecar as RunningSidecar;
    const first = await s.get('/v1/secrets/app');
    const etag = first.headers.get('etag') as string;
    const r = await s.get('/v1/secrets/app?wait=300ms', { 'if-none-match': etag });
    expect(r.status).toBe(304);
  });

  it('`wait` exits 0 once ready, probing 127.0.0.1 even for a 0.0.0.0 listener address', async () => {
    const s = sidecar as RunningSidecar;
    const port = new URL(s.health).port;
    const p = startProcess(process.execPath, [SIDECAR_BIN, 'wait', '--timeout=20s'], {
      VAULT_IRSA_HEALTH_LISTEN: `0.0.0.0:${port}`,
    });
    try {
      expect((await p.waitForExit(30_000)).code).toBe(0);
    } finally {
      await p.stop('SIGKILL', 1000);
    }
  });

  it('SIGTERM: revokes the token, exits 0; nothing it held leaks into output or files', async () => {
    const s = sidecar as RunningSidecar;
    expect(stack.vault.liveTokens()).toHaveLength(1);
    const exit = await s.stop();
    expect(exit.code).toBe(0);
    await waitFor(() => stack.vault.liveTokens().length === 0, 5000);
    expect(stack.vault.requests.some((r) => r.path === 'auth/token/revoke-self')).toBe(true);

    const output = s.proc.output();
    expect(output).toContain('"event":"login"');
    const projected = await readFile(stack.webIdentityTokenFile, 'utf8');
    const forbidden = [
      STACK_SEED.password,
      'kv1-api-key',
      'plain-text-value-42',
      s.requestToken,
      projected,
      ...issued.flatMap((c) => [c.secretAccessKey, c.sessionToken]),
    ];
    expect(issued.length).toBeGreaterThan(0);
    for (const f of forbidden) expect(output).not.toContain(f);
    expect(output).not.toMatch(/hvs\.[A-Za-z0-9]{20,}/);
    const files = await filesUnder(s.scratch);
    for (const file of files) {
      for (const f of forbidden) expect(file.content).not.toContain(f);
      expect(file.content).not.toMatch(/hvs\.[A-Za-z0-9]{20,}/);
    }
    // the only file written beside the scratch dirs is the request token
    const stackFiles = (await filesUnder(stack.dir)).map((f) => f.path.slice(stack.dir.length + 1)).sort();
    expect(stackFiles).toEqual(['token', 'web-identity-token']);
    sidecar = undefined;
  });
});
