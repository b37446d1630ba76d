/**
 * `vault-irsa-sidecar status`: the pure data (buildStatus), the table, the route on the loopback API (token
 * required; absent from the pod-IP listener), the CLI against a listening API, and TokenManager.state(). The
 * class under test for leaks: nothing the sidecar holds (values, the Vault token, the request token, AWS keys)
 * reaches the status, whatever those hold.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import fc from 'fast-check';
import type { HttpListener } from '../../../sidecar/http/listener.js';
import { buildApiApp } from '../../../sidecar/api.js';
import type { SidecarConfig } from '../../../sidecar/config.js';
import { buildHealthApp } from '../../../sidecar/health.js';
import { createLogger } from '../../../sidecar/logger.js';
import { Metrics } from '../../../sidecar/metrics.js';
import { SecretStore } from '../../../sidecar/secret-store.js';
import {
  buildStatus,
  formatSeconds,
  parseStatusArgs,
  renderStatusTable,
  runStatus,
  statusSource,
  type SidecarStatus,
  type StatusInputs,
} from '../../../sidecar/status.js';
import { TokenManager, type TokenState } from '../../../sidecar/token-manager.js';
import { VaultClient, type FetchLike } from '../../../sidecar/vault-client.js';

const NOW = Date.parse('2026-12-01T12:00:00Z');
const ROLE_ARN = 'arn:aws:iam::111122223333:role/app-vault';
const CONFIG: StatusInputs['config'] = {
  vaultAddr: 'https://vault.example.com:8200',
  role: 'app',
  authMount: 'aws',
  stsRegion: 'us-east-1',
  aws: {
    kind: 'web-identity',
    roleArn: ROLE_ARN,
    tokenFile: '/var/run/secrets/eks.amazonaws.com/serviceaccount/token',
    sessionName: 'app-sidecar',
  },
};
const LOGGED_IN: TokenState = {
  loggedIn: true,
  expiresAt: NOW + 3600_000,
  nextActionAt: NOW + 2400_000,
  nextAction: 'renew',
  renewable: true,
  lastLoginAt: NOW - 60_000,
  lastError: undefined,
};

function store(now = () => NOW - 125_000): SecretStore {
  const s = new SecretStore(
    [
      { name: 'config', path: 'secret/my-app' },
      { name: 'db', path: 'database/creds/app' },
      { name: 'denied', path: 'secret/other' },
      { name: 'pending', path: 'secret/later' },
    ],
    now,
  );
  s.update('config', { data: { password: 'hunter2-value', api_key: 'AKIA-LIKE-VALUE' }, version: 3, leaseDuration: 0 });
  s.update('db', { data: { username: 'v-app-x', password: 'dyn-pass-value' }, version: 0, leaseDuration: 3600 });
  s.fail('db', { code: 'vault_unavailable', status: 503, message: 'Vault read: unreachable (ECONNREFUSED)' });
  s.fail('denied', { code: 'vault_permission_denied', status: 403, message: '1 error occurred: permission denied' });
  return s;
}

const statusOf = (s = store(), t: TokenState = LOGGED_IN, config = CONFIG): SidecarStatus =>
  buildStatus({
    store: s,
    tokens: { state: () => t },
    config,
    version: '0.1.0',
    hostname: 'web-7d9f8-x2x4q',
    now: NOW,
  });

describe('buildStatus', () => {
  test('each declared secret: name, path, version, age, stale, last error code', () => {
    const st = statusOf();
    expect(st.secrets).toEqual([
      {
        name: 'config',
        path: 'secret/my-app',
        version: 3,
        updatedAt: new Date(NOW - 125_000).toISOString(),
        ageSeconds: 125,
        ready: true,
        stale: false,
        lastError: null,
        leaseSeconds: 0,
      },
      {
        name: 'db',
        path: 'database/creds/app',
        version: 1,
        updatedAt: new Date(NOW - 125_000).toISOString(),
        ageSeconds: 125,
        ready: true,
        stale: true,
        lastError: 'vault_unavailable',
        leaseSeconds: 3600,
      },
      {
        name: 'denied',
        path: 'secret/other',
        version: 0,
        updatedAt: null,
        ageSeconds: null,
        ready: false,
        stale: false,
        lastError: 'vault_permission_denied',
        leaseSeconds: 0,
      },
      {
        name: 'pending',
        path: 'secret/later',
        version: 0,
        updatedAt: null,
        ageSeconds: null,
        ready: false,
        stale: false,
        lastError: null,
        leaseSeconds: 0,
      },
    ]);
    expect(st.ready).toBe(false);
  });

  test('the token’s remaining TTL and next renewal, the AWS identity, the Vault address', () => {
    const st = statusOf();
    expect(st.token).toEqual({
      loggedIn: true,
      ttlSeconds: 3600,
      expiresAt: new Date(NOW + 3600_000).toISOString(),
      nextAction: 'renew',
      nextActionAt: new Date(NOW + 2400_000).toISOString(),
      nextActionInSeconds: 2400,
      lastLoginAt: new Date(NOW - 60_000).toISOString(),
      lastLoginError: null,
    });
    expect(st.aws).toEqual({ identity: 'web-identity', roleArn: ROLE_ARN, sessionName: 'app-sidecar' });
    expect(st.vault).toEqual({
      addr: 'https://vault.example.com:8200',
      namespace: null,
      role: 'app',
      authMount: 'aws',
      stsRegion: 'us-east-1',
    });
  });

  test('the default session name is the one the credential provider uses (from HOSTNAME); Pod Identity shows its endpoint', () => {
    const { sessionName: _drop, ...noSession } = CONFIG.aws as Extract<SidecarConfig['aws'], { kind: 'web-identity' }>;
    expect(statusOf(store(), LOGGED_IN, { ...CONFIG, aws: noSession }).aws).toEqual({
      identity: 'web-identity',
      roleArn: ROLE_ARN,
      sessionName: 'vault-irsa-web-7d9f8-x2x4q',
    });
    const pi = statusOf(store(), LOGGED_IN, {
      ...CONFIG,
      aws: {
        kind: 'pod-identity',
        fullUri: 'http://169.254.170.23/v1/credentials',
        authorizationTokenFile: '/var/run/secrets/pods.eks.amazonaws.com/serviceaccount/eks-pod-identity-token',
      },
    });
    expect(pi.aws).toEqual({ identity: 'pod-identity', credentialsUri: 'http://169.254.170.23/v1/credentials' });
  });

  test('not logged in: no TTL, the login error', () => {
    const st = statusOf(store(), {
      loggedIn: false,
      expiresAt: undefined,
      nextActionAt: undefined,
      nextAction: undefined,
      renewable: false,
      lastLoginAt: undefined,
      lastError: 'Vault answered 400: IAM Principal does not belong to the role',
    });
    expect(st.token).toMatchObject({
      loggedIn: false,
      ttlSeconds: null,
      nextAction: null,
      lastLoginError: 'Vault answered 400: IAM Principal does not belong to the role',
    });
    expect(st.ready).toBe(false);
  });

  test('never a value, a token or a key, whatever they hold (property)', () => {
    const secretish = fc.stringMatching(/^[A-Za-z0-9+/=_.-]{12,40}$/);
    fc.assert(
      fc.property(
        fc.array(secretish, { minLength: 1, maxLength: 4 }),
        secretish,
        secretish,
        (values, vaultToken, requestToken) => {
          const s = new SecretStore(
            [
              { name: 'a', path: 'secret/a' },
              { name: 'b', path: 'kv/b' },
            ],
            () => NOW,
          );
          s.update('a', { data: Object.fromEntries(values.map((v, i) => [`k${i}`, v])), version: 1, leaseDuration: 0 });
          s.update('b', { data: { nested: { deep: values } }, version: 2, leaseDuration: 60 });
          s.fail('b', { code: 'vault_unavailable', status: 503, message: 'down' });
          // what a careless implementation could reach: a token manager that also has the token, a config with keys
          const tokens = { state: () => LOGGED_IN, current: () => vaultToken, token: vaultToken };
          const config = {
            ...CONFIG,
            requestToken,
            awsSecretAccessKey: vaultToken,
          } as unknown as StatusInputs['config'];
          const st = buildStatus({ store: s, tokens, config, version: '0.1.0', now: NOW });
          const outputs = [JSON.stringify(st), renderStatusTable(st)];
          for (const out of outputs)
            for (const f of [...values, vaultToken, requestToken]) if (out.includes(f)) return false;
          return true;
        },
      ),
      { numRuns: 200 },
    );
  });
});

describe('renderStatusTable', () => {
  test('a human-readable table with everything the issue lists', () => {
    const text = renderStatusTable(statusOf());
    expect(text).toContain('vault-irsa sidecar 0.1.0: NOT READY');
    expect(text).toContain(
      'Vault:     https://vault.example.com:8200 (role app, auth mount aws, STS region us-east-1)',
    );
    expect(text).toContain(`AWS:       IRSA role ${ROLE_ARN}, session app-sidecar`);
    expect(text).toContain(
      `Token:     logged in; expires in 1h0m (${new Date(NOW + 3600_000).toISOString()}); next renewal in 40m0s`,
    );
    const rows = text
      .split('\n')
      .filter((l) => /^(SECRET|config|db|denied|pending)\s/.test(l))
      .map((l) => l.split(/\s{2,}/));
    expect(rows).toEqual([
      ['SECRET', 'PATH', 'VERSION', 'AGE', 'STALE', 'LAST ERROR'],
      ['config', 'secret/my-app', '3', '2m5s', 'no', '-'],
      ['db', 'database/creds/app', '1', '2m5s', 'STALE', 'vault_unavailable'],
      ['denied', 'secret/other', '-', '-', 'not read', 'vault_permission_denied'],
      ['pending', 'secret/later', '-', '-', 'not read', '-'],
    ]);
  });

  test('formatSeconds', () => {
    expect([
      formatSeconds(null),
      formatSeconds(0),
      formatSeconds(59),
      formatSeconds(60),
      formatSeconds(3725),
      formatSeconds(90_000),
    ]).toEqual(['-', '0s', '59s', '1m0s', '1h2m', '1d1h']);
  });
});

const REQUEST_TOKEN = 'request-token-0123456789abcdef0123456789a';

async function listen(app: HttpListener): Promise<number> {
  await app.listen({ host: '127.0.0.1', port: 0 });
  return (app.server.address() as { port: number }).port;
}

describe('the route and the CLI', () => {
  let api: HttpListener;
  let health: HttpListener;
  let dir: string;
  let apiPort: number;
  let healthPort: number;
  const s = store();

  beforeAll(async () => {
    const readiness = { notReadyReasons: (detail: boolean) => s.notReadyReasons(detail) };
    const metrics = new Metrics({ defaultMetrics: false });
    const status = statusSource({
      store: s,
      tokens: { state: () => LOGGED_IN },
      config: CONFIG,
      version: '0.1.0',
      now: () => NOW,
    });
    api = buildApiApp({ store: s, requestToken: REQUEST_TOKEN, readiness, metrics, status });
    health = buildHealthApp({ readiness, metrics });
    apiPort = await listen(api);
    healthPort = await listen(health);
    dir = mkdtempSync(join(tmpdir(), 'vault-irsa-status-'));
    writeFileSync(join(dir, 'token'), REQUEST_TOKEN, { mode: 0o600 });
    writeFileSync(join(dir, 'wrong'), 'not-the-request-token-0123456789abcdef012', { mode: 0o600 });
  });
  afterAll(async () => {
    await api.close();
    await health.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const env = (over: Record<string, string> = {}): NodeJS.ProcessEnv => ({
    VAULT_IRSA_LISTEN: `127.0.0.1:${apiPort}`,
    VAULT_IRSA_TOKEN_FILE: join(dir, 'token'),
    ...over,
  });
  async function cli(args: string[], e: NodeJS.ProcessEnv) {
    let out = '';
    let err = '';
    const code = await runStatus(args, e, { stdout: (x) => (out += x), stderr: (x) => (err += x) });
    return { code, out, err };
  }

  test('GET /v1/status needs the request token (401 without, 403 wrong) and answers the status with it', async () => {
    const url = `http://127.0.0.1:${apiPort}/v1/status`;
    expect((await fetch(url)).status).toBe(401);
    expect((await fetch(url, { headers: { authorization: 'Bearer nope' } })).status).toBe(403);
    const ok = await fetch(url, { headers: { authorization: `Bearer ${REQUEST_TOKEN}` } });
    expect(ok.status).toBe(200);
    expect(ok.headers.get('cache-control')).toBe('no-store');
    expect(await ok.json()).toEqual(JSON.parse(JSON.stringify(statusOf(s))));
  });

  test('the pod-IP listener has no status route: 404, with or without the token', async () => {
    for (const headers of [{}, { authorization: `Bearer ${REQUEST_TOKEN}` }] as Array<Record<string, string>>) {
      const r = await fetch(`http://127.0.0.1:${healthPort}/v1/status`, { headers });
      expect(r.status).toBe(404);
      const body = await r.text();
      expect(body).not.toContain('secret/');
    }
  });

  test('status prints the table; --json the same data as JSON', async () => {
    const table = await cli([], env());
    expect(table).toMatchObject({ code: 0, err: '' });
    expect(table.out).toBe(renderStatusTable(statusOf(s)));
    const json = await cli(['--json'], env());
    expect(json.code).toBe(0);
    expect(JSON.parse(json.out)).toEqual(JSON.parse(JSON.stringify(statusOf(s))));
    for (const out of [table.out, json.out]) {
      for (const f of ['hunter2-value', 'AKIA-LIKE-VALUE', 'dyn-pass-value', 'v-app-x', REQUEST_TOKEN])
        expect(out).not.toContain(f);
    }
  });

  test('failures are one clear line and a non-zero exit; the token never appears', async () => {
    const wrong = await cli([], env({ VAULT_IRSA_TOKEN_FILE: join(dir, 'wrong') }));
    expect(wrong).toMatchObject({ code: 1, out: '' });
    expect(wrong.err).toBe('vault-irsa-sidecar status: the sidecar answered 403 (forbidden: wrong request token)\n');
    const missing = await cli([], env({ VAULT_IRSA_TOKEN_FILE: join(dir, 'absent') }));
    expect(missing).toMatchObject({ code: 1, out: '' });
    expect(missing.err).toContain(
      `cannot read the request token from VAULT_IRSA_TOKEN_FILE=${join(dir, 'absent')} (ENOENT)`,
    );
    const closed = await cli([], env({ VAULT_IRSA_LISTEN: '127.0.0.1:1' }));
    expect(closed).toMatchObject({ code: 1, out: '' });
    expect(closed.err).toMatch(/cannot reach the sidecar at http:\/\/127\.0\.0\.1:1 \(ECONNREFUSED\)/);
    const notStatus = await cli([], env({ VAULT_IRSA_LISTEN: `127.0.0.1:${healthPort}` }));
    expect(notStatus).toMatchObject({ code: 1, out: '' });
    expect(notStatus.err).toContain('answered 404 (not_found: no such endpoint');
    for (const r of [wrong, missing, closed, notStatus]) expect(r.err).not.toContain(REQUEST_TOKEN);
    expect(await cli(['--yaml'], env())).toMatchObject({
      code: 2,
      out: '',
      err: expect.stringContaining('unknown argument "--yaml"'),
    });
    expect(await cli([], env({ VAULT_IRSA_LISTEN: 'nonsense' }))).toMatchObject({
      code: 2,
      err: expect.stringContaining('VAULT_IRSA_LISTEN'),
    });
  });

  test('the API is asked on loopback even when it listens on every address', async () => {
    // 0.0.0.0:<port> is reached as 127.0.0.1:<port>, never over the pod network
    expect((await cli([], env({ VAULT_IRSA_LISTEN: `0.0.0.0:${apiPort}` }))).code).toBe(0);
  });

  test('parseStatusArgs', () => {
    expect(parseStatusArgs([])).toEqual({ json: false, timeoutMs: 5000 });
    expect(parseStatusArgs(['--json', '--timeout=2s'])).toEqual({ json: true, timeoutMs: 2000 });
    expect(parseStatusArgs(['--timeout=soon'])).toContain('--timeout');
  });
});

describe('TokenManager.state()', () => {
  test('times and the next action, never the token', async () => {
    let clock = NOW;
    const fetchImpl: FetchLike = async (url) => {
      const path = url.replace(/^.*?\/v1\//, '');
      const body =
        path === 'auth/aws/login'
          ? { auth: { client_token: 'hvs.SECRET-TOKEN-VALUE-0123456789', lease_duration: 3600, renewable: true } }
          : {};
      return { status: 200, headers: { get: () => null }, text: async () => JSON.stringify(body) };
    };
    const tm = new TokenManager({
      vault: new VaultClient({ addr: 'http://vault', fetch: fetchImpl, retry: { attempts: 1, baseMs: 1, capMs: 1 } }),
      credentials: async () => ({ accessKeyId: 'ASIAX', secretAccessKey: 'secret', sessionToken: 'session' }),
      role: 'app',
      authMount: 'aws',
      stsRegion: 'us-east-1',
      log: createLogger('silent', new Writable({ write: (_c, _e, cb) => cb() })),
      now: () => clock,
    });
    expect(tm.state()).toMatchObject({ loggedIn: false, expiresAt: undefined, nextAction: undefined });
    tm.start();
    await tm.token();
    clock += 1000;
    const st = tm.state();
    expect(st).toEqual({
      loggedIn: true,
      expiresAt: NOW + 3600_000,
      nextActionAt: NOW + 2400_000,
      nextAction: 'renew',
      renewable: true,
      lastLoginAt: NOW,
      lastError: undefined,
    });
    expect(JSON.stringify(st)).not.toContain('SECRET-TOKEN');
    await tm.stop(100);
    expect(tm.state()).toMatchObject({ loggedIn: false, nextAction: undefined });
  });
});
