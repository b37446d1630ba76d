/**
 * The Vault-shaped view on the API listener: Vault's paths and answer shapes for the declared secrets,
 * answered from memory, with Vault's errors. Real Vault clients (hvac, node-vault, the CLI) are driven
 * against the built sidecar in test/integration/sidecar/vault-clients.test.ts and test/real/vault-cli.test.ts.
 */
import { buildApiApp } from '../../../sidecar/api.js';
import type { HttpListener } from '../../../sidecar/http/listener.js';
import { Metrics } from '../../../sidecar/metrics.js';
import { SecretStore, type VaultFacts } from '../../../sidecar/secret-store.js';
import { candidateApiPaths } from '../../../sidecar/vault-view.js';

const TOKEN = 'request-token-0123456789abcdef';
const KV2 = { path: 'secret/', type: 'kv', kvVersion: 2 as const };
const KV1 = { path: 'kv1/', type: 'kv', kvVersion: 1 as const };
const DB = { path: 'database/', type: 'database' };

function facts(f: Partial<VaultFacts> & Pick<VaultFacts, 'apiPath' | 'kind'>): VaultFacts {
  return { mount: undefined, leaseId: undefined, renewable: false, metadata: undefined, ...f };
}

let now = Date.parse('2026-01-02T03:04:05.000Z');
let store: SecretStore;
let app: HttpListener;
let metrics: Metrics;
let base: string;

beforeEach(async () => {
  now = Date.parse('2026-01-02T03:04:05.000Z');
  store = new SecretStore(
    [
      { name: 'cfg', path: 'secret/my-app' },
      { name: 'legacy', path: 'kv1/app' },
      { name: 'db', path: 'database/creds/app' },
      { name: 'denied', path: 'secret/other' },
      { name: 'gone', path: 'secret/gone' },
      { name: 'pending', path: 'team/kv/later' },
    ],
    () => now,
  );
  store.update('cfg', {
    data: { password: 'pw-kv2', port: 5432 },
    version: 3,
    leaseDuration: 0,
    vault: facts({
      apiPath: 'secret/data/my-app',
      kind: 'kv2',
      mount: KV2,
      metadata: {
        created_time: '2026-01-01T00:00:00Z',
        custom_metadata: { team: 'a' },
        deletion_time: '',
        destroyed: false,
        version: 3,
      },
    }),
  });
  store.update('legacy', {
    data: { api_key: 'kv1-key' },
    version: 0,
    leaseDuration: 2764800,
    vault: facts({ apiPath: 'kv1/app', kind: 'kv1', mount: KV1 }),
  });
  store.update('db', {
    data: { username: 'v-user', password: 'v-pass' },
    version: 0,
    leaseDuration: 3600,
    vault: facts({
      apiPath: 'database/creds/app',
      kind: 'other',
      mount: DB,
      leaseId: 'database/creds/app/LEASE1',
      renewable: true,
    }),
  });
  store.fail('denied', {
    code: 'vault_permission_denied',
    status: 403,
    message: '1 error occurred: permission denied',
  });
  store.update('gone', {
    data: { a: 'b' },
    version: 1,
    leaseDuration: 0,
    vault: facts({ apiPath: 'secret/data/gone', kind: 'kv2', mount: KV2 }),
  });
  store.fail('gone', { code: 'secret_not_found', status: 404, message: 'Vault has no secret at this path' });
  store.fail('pending', { code: 'vault_unavailable', status: 503, message: 'Vault read: unreachable (ECONNREFUSED)' });
  metrics = new Metrics({ defaultMetrics: false });
  app = buildApiApp({ store, requestToken: TOKEN, readiness: { notReadyReasons: () => [] }, metrics, now: () => now });
  await app.listen({ host: '127.0.0.1', port: 0 });
  base = `http://127.0.0.1:${(app.server.address() as { port: number }).port}`;
});
afterEach(async () => {
  store.close();
  await app.close();
});

async function call(path: string, init: { method?: string; headers?: Record<string, string>; body?: string } = {}) {
  const r = await fetch(`${base}${path}`, {
    method: init.method ?? 'GET',
    headers: { 'x-vault-token': TOKEN, 'x-vault-request': 'true', ...init.headers },
    body: init.body,
  });
  const text = await r.text();
  return { status: r.status, headers: r.headers, text, json: () => JSON.parse(text) as Record<string, any> }; // eslint-disable-line @typescript-eslint/no-explicit-any
}

const ENVELOPE_KEYS = [
  'auth',
  'data',
  'lease_duration',
  'lease_id',
  'mount_type',
  'renewable',
  'request_id',
  'warnings',
  'wrap_info',
];

describe("reads at Vault's own paths", () => {
  it("KV v2: data and metadata of the version held, in Vault's envelope", async () => {
    const r = await call('/v1/secret/data/my-app');
    expect(r.status).toBe(200);
    expect(r.headers.get('cache-control')).toBe('no-store');
    const b = r.json();
    expect(Object.keys(b).sort()).toEqual(ENVELOPE_KEYS);
    expect(b).toMatchObject({
      lease_id: '',
      renewable: false,
      lease_duration: 0,
      wrap_info: null,
      warnings: null,
      auth: null,
      mount_type: 'kv',
    });
    expect(b.request_id).toMatch(/^[0-9a-f-]{36}$/);
    expect(b.data).toEqual({
      data: { password: 'pw-kv2', port: 5432 },
      metadata: {
        created_time: '2026-01-01T00:00:00Z',
        custom_metadata: { team: 'a' },
        deletion_time: '',
        destroyed: false,
        version: 3,
      },
    });
  });

  it("KV v2 ?version=: the version held (or 0, latest) is served; another is 404 in Vault's shape; a malformed one 400", async () => {
    expect((await call('/v1/secret/data/my-app?version=3')).status).toBe(200);
    expect((await call('/v1/secret/data/my-app?version=0')).status).toBe(200);
    const other = await call('/v1/secret/data/my-app?version=2');
    expect(other.status).toBe(404);
    expect(other.json()).toEqual({ errors: [] });
    const bad = await call('/v1/secret/data/my-app?version=x');
    expect(bad.status).toBe(400);
    expect(bad.json().errors[0]).toMatch(/version/);
  });

  it('KV v1: the data as Vault sends it, with the mount TTL', async () => {
    const b = (await call('/v1/kv1/app')).json();
    expect(b).toMatchObject({
      data: { api_key: 'kv1-key' },
      lease_id: '',
      renewable: false,
      lease_duration: 2764800,
      mount_type: 'kv',
    });
  });

  it('a dynamic secret: the lease the sidecar holds, with what is left of it; reading never takes a new one', async () => {
    const first = (await call('/v1/database/creds/app')).json();
    expect(first).toMatchObject({
      lease_id: 'database/creds/app/LEASE1',
      renewable: true,
      lease_duration: 3600,
      data: { username: 'v-user', password: 'v-pass' },
      mount_type: 'database',
    });
    now += 100_500;
    const later = (await call('/v1/database/creds/app')).json();
    expect(later.lease_id).toBe('database/creds/app/LEASE1');
    expect(later.lease_duration).toBe(3500);
    now += 10 * 3600_000;
    expect((await call('/v1/database/creds/app')).json().lease_duration).toBe(0);
  });

  it('Authorization: Bearer works as well as X-Vault-Token; X-Vault-Request is accepted', async () => {
    const r = await fetch(`${base}/v1/kv1/app`, {
      headers: { authorization: `Bearer ${TOKEN}`, 'x-vault-request': 'true' },
    });
    expect(r.status).toBe(200);
  });

  it('stale: served with a warning saying so and since when', async () => {
    now += 5000;
    store.fail('cfg', { code: 'vault_unavailable', status: 503, message: 'Vault read: unreachable (ECONNREFUSED)' });
    const b = (await call('/v1/secret/data/my-app')).json();
    expect(b.data.data.password).toBe('pw-kv2');
    expect(b.warnings).toEqual([expect.stringContaining('2026-01-02T03:04:10.000Z')]);
    expect(b.warnings[0]).toMatch(/stale/);
  });
});

describe("Vault's errors", () => {
  it.each([
    ['an undeclared path', '/v1/secret/data/not-declared'],
    ['a declared path spelt the KV v1 way on KV v2', '/v1/secret/my-app'],
    ['other sys/ endpoints', '/v1/sys/seal-status'],
    ['sys/mounts', '/v1/sys/mounts'],
    ['other auth/ endpoints', '/v1/auth/token/lookup'],
    ['cubbyhole', '/v1/cubbyhole/x'],
    ['a list', '/v1/secret/metadata/my-app?list=true'],
    ['a list of a declared path', '/v1/secret/data/my-app?list=true'],
  ])('%s: 403 permission denied', async (_what, path) => {
    const r = await call(path);
    expect(r.status).toBe(403);
    expect(r.json()).toEqual({ errors: ['permission denied'] });
  });

  it('a declared secret Vault lost: 404 with no errors, as Vault answers', async () => {
    const r = await call('/v1/secret/data/gone');
    expect(r.status).toBe(404);
    expect(r.json()).toEqual({ errors: [] });
  });

  it('a declared secret Vault refuses the sidecar: 403 permission denied, with why', async () => {
    const r = await call('/v1/secret/data/other');
    expect(r.status).toBe(403);
    expect(r.json().errors[0]).toBe('permission denied');
    expect(r.json().errors[1]).toContain('secret "denied"');
  });

  it('a declared secret not read yet: 503 with the reason, at any path it may be read at', async () => {
    expect(candidateApiPaths('team/kv/later')).toEqual(['team/kv/later', 'team/data/kv/later', 'team/kv/data/later']);
    for (const p of candidateApiPaths('team/kv/later')) {
      const r = await call(`/v1/${p}`);
      expect(r.status).toBe(503);
      expect(r.headers.get('retry-after')).toBe('1');
      expect(r.json().errors[0]).toMatch(/secret "pending" has not been read from Vault yet: Vault read: unreachable/);
    }
  });

  it.each([
    ['PUT', '/v1/secret/data/my-app'],
    ['POST', '/v1/secret/data/my-app'],
    ['DELETE', '/v1/secret/data/my-app'],
    ['PATCH', '/v1/secret/data/my-app'],
    ['POST', '/v1/database/creds/app'],
    ['DELETE', '/v1/sys/health'],
    ['POST', '/v1/auth/token/lookup-self'],
    ['PUT', '/v1/sys/leases/renew'],
    ['POST', '/v1/sys/unseal'],
    ['OPTIONS', '/v1/secret/data/my-app'],
    ['GET', '/v1/auth/token/renew-self'],
  ])("%s %s: 405 in Vault's shape", async (method, path) => {
    const r = await call(path, {
      method,
      body: method === 'GET' || method === 'OPTIONS' ? undefined : '{"data":{"x":"y"}}',
    });
    expect(r.status).toBe(405);
    expect(r.json().errors[0]).toMatch(/^unsupported operation/);
    expect(r.headers.get('allow')).toBe(path.endsWith('renew-self') ? 'PUT, POST' : 'GET, HEAD');
  });

  it('a missing or wrong token: 403 permission denied (as Vault), on every Vault path, helpers included', async () => {
    const wrong: Array<Record<string, string>> = [
      { 'x-vault-token': '' },
      { 'x-vault-token': 'nope' },
      { 'x-vault-token': `${TOKEN}x` },
      { 'x-vault-token': `Bearer ${TOKEN}` },
      { authorization: 'Bearer nope' },
      { authorization: `Basic ${TOKEN}` },
      // a right token beside a wrong one is wrong
      { 'x-vault-token': TOKEN, authorization: 'Bearer nope' },
      { 'x-vault-token': 'nope', authorization: `Bearer ${TOKEN}` },
    ];
    for (const path of [
      '/v1/secret/data/my-app',
      '/v1/sys/health',
      '/v1/auth/token/lookup-self',
      '/v1/sys/internal/ui/mounts/secret/my-app',
      '/v1/nothing',
    ]) {
      const none = await fetch(`${base}${path}`);
      expect(none.status).toBe(403);
      expect(await none.json()).toEqual({ errors: ['permission denied'] });
      for (const h of wrong) {
        const r = await fetch(`${base}${path}`, { headers: h });
        expect(r.status).toBe(403);
        expect(await r.json()).toEqual({ errors: ['permission denied'] });
      }
    }
    // the same with the wrong method: the token is checked first
    expect(
      (await fetch(`${base}/v1/auth/token/renew-self`, { method: 'POST', headers: { 'x-vault-token': 'nope' } }))
        .status,
    ).toBe(403);
  });

  it("X-Forwarded-For still gets 400, in Vault's shape", async () => {
    const r = await call('/v1/secret/data/my-app', { headers: { 'x-forwarded-for': '10.0.0.1' } });
    expect(r.status).toBe(400);
    expect(r.json().errors[0]).toMatch(/X-Forwarded-For/);
  });

  it("a request target that cannot be parsed under /v1/: 400 in Vault's shape; under /v1/secrets in the API's", async () => {
    const v = await call('/v1/secret/data//my-app');
    expect(v.status).toBe(400);
    expect(v.json().errors).toHaveLength(1);
    const own = await call('/v1/secrets//cfg');
    expect(own.status).toBe(400);
    expect(own.json().error.code).toBe('bad_request');
  });

  it('response wrapping is refused', async () => {
    const r = await call('/v1/secret/data/my-app', { headers: { 'x-vault-wrap-ttl': '60s' } });
    expect(r.status).toBe(400);
    expect(r.json().errors[0]).toMatch(/wrapping/);
  });
});

describe('what clients call around a read', () => {
  it('sys/internal/ui/mounts/<path>: the declared mounts, with the KV version', async () => {
    const v2 = (await call('/v1/sys/internal/ui/mounts/secret/my-app')).json();
    expect(v2.data).toMatchObject({ path: 'secret/', type: 'kv', options: { version: '2' } });
    expect(v2.data).not.toHaveProperty('accessor');
    expect((await call('/v1/sys/internal/ui/mounts/kv1/app')).json().data).toMatchObject({
      path: 'kv1/',
      type: 'kv',
      options: { version: '1' },
    });
    expect((await call('/v1/sys/internal/ui/mounts/database/creds/app')).json().data).toMatchObject({
      path: 'database/',
      type: 'database',
      options: null,
    });
    expect((await call('/v1/sys/internal/ui/mounts/elsewhere/x')).status).toBe(403);
    expect((await call('/v1/sys/internal/ui/mounts')).status).toBe(403);
    // a mount not looked up yet: not read yet
    expect((await call('/v1/sys/internal/ui/mounts/team/kv/later')).status).toBe(503);
  });

  it('auth/token/lookup-self describes the local token: no policies, no accessor, no expiry', async () => {
    const b = (await call('/v1/auth/token/lookup-self')).json();
    expect(b.data).toMatchObject({
      policies: [],
      accessor: '',
      ttl: 0,
      expire_time: null,
      renewable: false,
      id: TOKEN,
      meta: {},
      num_uses: 0,
    });
  });

  it('auth/token/renew-self succeeds (PUT and POST), without expiry', async () => {
    for (const method of ['PUT', 'POST']) {
      const r = await call('/v1/auth/token/renew-self', {
        method,
        body: '{"increment":"1h"}',
        headers: { 'content-type': 'application/json' },
      });
      expect(r.status).toBe(200);
      expect(r.json().auth).toMatchObject({
        client_token: TOKEN,
        lease_duration: 0,
        renewable: false,
        policies: [],
        accessor: '',
      });
    }
  });

  it('sys/health: 200, initialized, unsealed, active', async () => {
    const r = await call('/v1/sys/health?standbyok=true');
    expect(r.status).toBe(200);
    expect(r.json()).toMatchObject({ initialized: true, sealed: false, standby: false, performance_standby: false });
  });
});

describe('beside the existing API', () => {
  it('/v1/secrets answers exactly as before: X-Vault-Token is not its token, its errors keep their shape', async () => {
    const r = await fetch(`${base}/v1/secrets/cfg`, { headers: { 'x-vault-token': TOKEN } });
    expect(r.status).toBe(401);
    expect(((await r.json()) as { error: { code: string } }).error.code).toBe('unauthorized');
    const ok = await fetch(`${base}/v1/secrets/cfg/password`, {
      headers: { authorization: `Bearer ${TOKEN}`, 'x-vault-token': 'whatever' },
    });
    expect(await ok.text()).toBe('pw-kv2');
    expect((await fetch(`${base}/nothing`, { headers: { authorization: `Bearer ${TOKEN}` } })).status).toBe(404);
  });

  it('reads at Vault paths are counted with the other secret reads; helpers are not', async () => {
    await call('/v1/secret/data/my-app');
    await call('/v1/secret/data/nope');
    await call('/v1/sys/health');
    await call('/v1/auth/token/lookup-self');
    const text = await metrics.registry.metrics();
    expect(text).toContain('vault_irsa_secret_reads_total{status="200"} 1');
    expect(text).toContain('vault_irsa_secret_reads_total{status="403"} 1');
  });
});
