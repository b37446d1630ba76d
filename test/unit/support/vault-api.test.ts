import { startStack, type StackExt } from '../../../stand-ins/stack.js';
import { loginPayload, signGetCallerIdentity, vaultCall, type Json } from './login-signer.js';

const DENIED = ['1 error occurred:\n\t* permission denied\n\n'];

describe('fake Vault API (docs/vault-and-aws.md, the rest of the API)', () => {
  let s: StackExt;
  let addr: string;
  const call = (method: string, path: string, o: { token?: string; body?: unknown; ns?: string } = {}) =>
    vaultCall(addr, method, path, o);
  async function login(ns?: string): Promise<string> {
    const creds = s.sts.issueCredentials(s.roleArn, 'api-test');
    const r = await vaultCall(addr, 'POST', 'auth/aws/login', {
      body: loginPayload('app', await signGetCallerIdentity(creds, { serverId: 'vault.example.com' })),
      ns,
    });
    expect(r.status).toBe(200);
    return r.json.auth.client_token as string;
  }
  beforeAll(async () => {
    s = await startStack({ tokenTtlSeconds: 600, tokenMaxTtlSeconds: 1000 });
    addr = s.vault.addr;
  });
  afterAll(async () => {
    await s.close();
  });

  it('sys/health', async () => {
    const r = await call('GET', 'sys/health');
    expect(r.status).toBe(200);
    expect(r.json).toMatchObject({ initialized: true, sealed: false, standby: false });
  });

  it('token lookup-self, renew-self (capped with a warning), revoke-self', async () => {
    const token = await login();
    const l = await call('GET', 'auth/token/lookup-self', { token });
    expect(l.status).toBe(200);
    expect(l.json.data).toMatchObject({
      renewable: true,
      policies: ['default', 'vault-irsa-app'],
      meta: { auth_type: 'iam' },
    });
    expect(l.json.data.ttl).toBeGreaterThan(590);
    const r1 = await call('POST', 'auth/token/renew-self', { token, body: { increment: '300s' } });
    expect(r1.status).toBe(200);
    expect(r1.json.auth.lease_duration).toBe(300);
    expect(r1.json.warnings).toBeNull();
    const r2 = await call('POST', 'auth/token/renew-self', { token, body: { increment: 5000 } });
    expect(r2.status).toBe(200);
    expect(r2.json.auth.lease_duration).toBeLessThanOrEqual(1000);
    expect(r2.json.warnings[0]).toMatch(/capped/);
    expect((await call('POST', 'auth/token/revoke-self', { token })).status).toBe(204);
    const after = await call('GET', 'auth/token/lookup-self', { token });
    expect(after.status).toBe(403);
    expect(after.json.errors[0]).toMatch(/permission denied/);
  });

  it('renewal fails once the role is removed or no longer bound', async () => {
    const token = await login();
    s.vault.writeRole('app', {
      bound_iam_principal_arn: ['arn:aws:iam::111122223333:role/someone-else'],
      resolve_aws_unique_ids: false,
      token_policies: ['vault-irsa-app'],
    });
    const r = await call('POST', 'auth/token/renew-self', { token, body: {} });
    expect(r.status).toBe(400);
    expect(r.json.errors[0]).toMatch(/no longer bound/);
    s.vault.deleteRole('app');
    expect((await call('POST', 'auth/token/renew-self', { token, body: {} })).json.errors[0]).toMatch(
      /role entry not found/,
    );
    s.vault.writeRole('app', {
      bound_iam_principal_arn: [s.roleArn],
      token_policies: ['vault-irsa-app'],
      token_ttl: 600,
      token_max_ttl: 1000,
    });
  });

  it('KV v2 read, version, missing, deleted, wrong path; mounts endpoint', async () => {
    const token = await login();
    const m = await call('GET', 'sys/internal/ui/mounts/secret/my-app', { token });
    expect(m.status).toBe(200);
    expect(m.json.data).toMatchObject({ path: 'secret/', type: 'kv', options: { version: '2' } });
    const m1 = await call('GET', 'sys/internal/ui/mounts/kv1/app', { token });
    expect(m1.json.data).toMatchObject({ path: 'kv1/', type: 'kv', options: { version: '1' } });
    s.vault.writeKv('secret', 'versioned', { a: 1 });
    s.vault.writeKv('secret', 'versioned', { a: 2 });
    expect((await call('GET', 'secret/data/versioned', { token })).json.data).toMatchObject({
      data: { a: 2 },
      metadata: { version: 2, destroyed: false, deletion_time: '' },
    });
    expect((await call('GET', 'secret/data/versioned?version=1', { token })).json.data.data).toEqual({ a: 1 });
    const missing = await call('GET', 'secret/data/nope', { token });
    expect(missing).toMatchObject({ status: 404, json: { errors: [] } });
    s.vault.deleteKvLatest('secret', 'versioned');
    const del = await call('GET', 'secret/data/versioned', { token });
    expect(del.status).toBe(404);
    expect(del.json.errors).toBeUndefined();
    expect(del.json.data.data).toBeNull();
    expect(del.json.data.metadata.deletion_time).not.toBe('');
    const wrong = await call('GET', 'secret/my-app', { token: s.vault.rootToken });
    expect(wrong.status).toBe(404);
    expect(wrong.json.warnings[0]).toMatch(/versioned K\/V/);
  });

  it('KV v1 lease_duration and dynamic creds with lease renew / revoke', async () => {
    const token = await login();
    const v1 = await call('GET', 'kv1/app', { token });
    expect(v1.json).toMatchObject({ lease_duration: 2764800, renewable: false, data: { api_key: 'kv1-api-key' } });
    s.vault.enableDynamic('database', 'short', { ttlSeconds: 60, maxTtlSeconds: 100 });
    const d = await call('GET', 'database/creds/short', { token });
    expect(d.status).toBe(200);
    expect(d.json).toMatchObject({
      lease_id: expect.stringMatching(/^database\/creds\/short\//),
      lease_duration: 60,
      renewable: true,
      data: { username: expect.any(String), password: expect.any(String) },
    });
    const ren = await call('PUT', 'sys/leases/renew', { token, body: { lease_id: d.json.lease_id, increment: 30 } });
    expect(ren.json).toMatchObject({ lease_id: d.json.lease_id, lease_duration: 30 });
    const capped = await call('PUT', 'sys/leases/renew', {
      token,
      body: { lease_id: d.json.lease_id, increment: 1000 },
    });
    expect(capped.json.lease_duration).toBeLessThanOrEqual(100);
    expect(capped.json.warnings).not.toBeNull();
    expect(
      (await call('PUT', 'sys/leases/renew', { token, body: { lease_id: 'database/creds/short/nope' } })).json,
    ).toEqual({ errors: ['lease not found'] });
    s.vault.enableDynamic('database', 'fixed', { ttlSeconds: 60, maxTtlSeconds: 60, renewable: false });
    const f = await call('GET', 'database/creds/fixed', { token });
    expect((await call('PUT', 'sys/leases/renew', { token, body: { lease_id: f.json.lease_id } })).json).toEqual({
      errors: ['lease is not renewable'],
    });
    s.vault.expireAllLeases();
    expect((await call('PUT', 'sys/leases/renew', { token, body: { lease_id: d.json.lease_id } })).json).toEqual({
      errors: ['lease expired'],
    });
    // the stack's policy does not grant sys/leases/revoke, as with a real Vault
    expect((await call('PUT', 'sys/leases/revoke', { token, body: { lease_id: d.json.lease_id } })).status).toBe(403);
    expect(
      (await call('PUT', 'sys/leases/revoke', { token: s.vault.rootToken, body: { lease_id: d.json.lease_id } }))
        .status,
    ).toBe(204);
  });

  it("ACL: no capability → 403 with Vault's body; bogus / missing / expired token → 403", async () => {
    const token = await login();
    s.vault.writeKv('secret', 'x', { v: 1 });
    const w = await call('POST', 'secret/data/x', { token, body: { data: { v: 2 } } });
    expect(w).toMatchObject({ status: 403, json: { errors: DENIED } });
    s.vault.enableKv('private', 2);
    expect((await call('GET', 'sys/internal/ui/mounts/private/x', { token })).status).toBe(403);
    expect((await call('GET', 'secret/data/my-app', { token: 'hvs.bogus' })).status).toBe(403);
    expect((await call('GET', 'secret/data/my-app')).json).toEqual({ errors: ['permission denied'] });
    s.vault.expireAllTokens();
    const exp = await call('GET', 'secret/data/my-app', { token });
    expect(exp.status).toBe(403);
    expect(s.vault.requests.at(-1)).toMatchObject({ path: 'secret/data/my-app', status: 403, token: 'invalid' });
    expect(JSON.stringify(s.vault.requests)).not.toContain(token);
  });

  it('namespaces: a token is bound to the namespace it logged in to', async () => {
    const token = await login('team-a');
    expect((await call('GET', 'secret/data/my-app', { token, ns: 'team-a' })).status).toBe(200);
    expect((await call('GET', 'secret/data/my-app', { token, ns: 'team-b' })).status).toBe(403);
    expect((await call('GET', 'secret/data/my-app', { token })).status).toBe(403);
    expect(s.vault.requests.some((r) => r.namespace === 'team-a')).toBe(true);
  });

  it('sealed → 503 everywhere (health too, with its JSON); injected faults; stop/start', async () => {
    const token = await login();
    s.vault.seal();
    expect(await call('GET', 'secret/data/my-app', { token })).toMatchObject({
      status: 503,
      json: { errors: ['Vault is sealed'] },
    });
    expect(await call('GET', 'sys/health')).toMatchObject({ status: 503, json: { sealed: true } });
    s.vault.unseal();
    s.vault.injectFault({ pathPrefix: 'secret/', status: 429, times: 1, retryAfterSeconds: 3 });
    const f = await call('GET', 'secret/data/my-app', { token });
    expect(f.status).toBe(429);
    expect(f.headers.get('retry-after')).toBe('3');
    expect((await call('GET', 'secret/data/my-app', { token })).status).toBe(200);
    await s.vault.stop();
    await expect(fetch(`${addr}/v1/sys/health`, { signal: AbortSignal.timeout(5000) })).rejects.toThrow();
    await s.vault.start();
    expect((await call('GET', 'secret/data/my-app', { token })).status).toBe(200);
  });

  it('configuration API with the root token (as against `vault server -dev`)', async () => {
    const root = s.vault.rootToken;
    expect((await call('POST', 'sys/auth/aws2', { token: root, body: { type: 'aws' } })).status).toBe(204);
    expect(
      (
        await call('POST', 'auth/aws2/config/client', {
          token: root,
          body: { iam_server_id_header_value: 'v2', sts_endpoint: s.sts.url },
        })
      ).status,
    ).toBe(204);
    expect(
      (
        await call('PUT', 'sys/policies/acl/p2', {
          token: root,
          body: {
            policy:
              'path "kv2/data/*" {\n  capabilities = ["read", "list"]\n}\n# comment\npath "sys/internal/ui/mounts/*" { capabilities = ["read"] }',
          },
        })
      ).status,
    ).toBe(204);
    expect(
      (
        await call('PUT', 'sys/policies/acl/bad', {
          token: root,
          body: { policy: 'path "x" { capabilities = ["fly"] }' },
        })
      ).status,
    ).toBe(400);
    expect(
      (
        await call('POST', 'auth/aws2/role/r2', {
          token: root,
          body: {
            auth_type: 'iam',
            bound_iam_principal_arn: s.roleArn,
            token_policies: 'p2',
            token_ttl: '10m',
            resolve_aws_unique_ids: false,
          },
        })
      ).status,
    ).toBe(204);
    expect(
      (await call('POST', 'sys/mounts/kv2', { token: root, body: { type: 'kv', options: { version: '2' } } })).status,
    ).toBe(204);
    expect((await call('POST', 'kv2/data/app', { token: root, body: { data: { k: 'v' } } })).json.data.version).toBe(1);
    expect(
      (await call('POST', 'sys/mounts/kv1b', { token: root, body: { type: 'kv', options: { version: '1' } } })).status,
    ).toBe(204);
    expect((await call('POST', 'kv1b/app', { token: root, body: { k: 'v1' } })).status).toBe(204);
    const creds = s.sts.issueCredentials(s.roleArn, 'cfg');
    const r = await vaultCall(addr, 'POST', 'auth/aws2/login', {
      body: loginPayload('r2', await signGetCallerIdentity(creds, { serverId: 'v2' })),
    });
    expect(r.status).toBe(200);
    expect(r.json.auth.lease_duration).toBe(600);
    const tok: string = r.json.auth.client_token;
    expect((await call('GET', 'kv2/data/app', { token: tok })).json.data.data).toEqual({ k: 'v' });
    expect((await call('GET', 'kv1b/app', { token: tok })).status).toBe(403);
    const nonRoot = await call('POST', 'sys/mounts/evil', { token: tok, body: { type: 'kv' } });
    expect(nonRoot.status).toBe(403);
    const j: Json = (await call('GET', 'sys/internal/ui/mounts/kv1b', { token: root })).json;
    expect(j.data.options).toEqual({ version: '1' });
  });

  it("a lease dies with the token that created it (Vault revokes a token's leases when it expires)", async () => {
    s.vault.enableDynamic('database', 'tied', { ttlSeconds: 600, maxTtlSeconds: 6000 });
    const first = await login();
    const d = await call('GET', 'database/creds/tied', { token: first });
    expect(s.vault.leaseOfUsername(d.json.data.username as string)).toEqual({
      leaseId: d.json.lease_id,
      state: 'live',
    });
    s.vault.expireAllTokens();
    const second = await login();
    expect(s.vault.leaseOfUsername(d.json.data.username as string)?.state).toBe('gone');
    expect(
      (await call('PUT', 'sys/leases/renew', { token: second, body: { lease_id: d.json.lease_id } })).json,
    ).toEqual({ errors: ['lease not found'] });
    expect(s.vault.leaseOfUsername('nobody')).toBeUndefined();
  });

  it('answers 307 to its own origin on request (a standby), and in bursts when asked', async () => {
    s.vault.injectRedirect({ pathPrefix: 'sys/seal-status', times: 1 });
    const r = await fetch(`${addr}/v1/sys/seal-status?x=1`, { redirect: 'manual' });
    expect(r.status).toBe(307);
    expect(r.headers.get('location')).toBe(`${addr}/v1/sys/seal-status?x=1`);
    expect((await fetch(`${addr}/v1/sys/seal-status`)).status).toBe(200);
    s.vault.answerInBursts(50);
    try {
      const answers = await Promise.all([fetch(`${addr}/v1/sys/seal-status`), fetch(`${addr}/v1/sys/health`)]);
      expect(answers.map((a) => a.status)).toEqual([200, 200]);
    } finally {
      s.vault.answerInBursts(undefined);
    }
  });
});
