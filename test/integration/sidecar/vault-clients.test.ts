/**
 * Real Vault clients, unchanged, reading through the built sidecar: VAULT_ADDR is the sidecar, the token is
 * the request token file. hvac from Debian's python3-hvac (skipped with one line where it is missing) and
 * node-vault from npm. Every answer comes from the sidecar's memory: the Vault stand-in sees no request
 * while they run, and nothing they read (nor any token or AWS key) shows in the sidecar's log or metrics.
 */
import { spawnSync } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import NodeVault from 'node-vault';
import { startStack, STACK_SEED, type StackExt } from '../../../stand-ins/stack.js';
import type { IssuedCredentials } from '../../../stand-ins/types.js';
import { DEBIAN_PYTHON as PYTHON, detectHvac } from '../../../stand-ins/vault-clients.js';
import { cleanup, startSidecar, waitReady, type RunningSidecar } from './helpers.js';

const HVAC_SCRIPT = fileURLToPath(new URL('./clients/hvac_reads.py', import.meta.url));

const hvac = detectHvac();
if (!hvac.ok) console.log(`skipped: hvac: ${hvac.reason}`);

let stack: StackExt;
let sidecar: RunningSidecar | undefined;
const issued: IssuedCredentials[] = [];
/** every secret value a client was handed, for the leak check */
const served: string[] = [];

beforeAll(async () => {
  stack = await startStack();
  const original = stack.sts.issueCredentials.bind(stack.sts);
  stack.sts.issueCredentials = (...args: Parameters<typeof original>) => {
    const c = original(...args);
    issued.push(c);
    return c;
  };
  sidecar = await startSidecar(
    stack.sidecarEnv({
      VAULT_IRSA_SECRETS: JSON.stringify({ app: 'secret/my-app', legacy: 'kv1/app', db: 'database/creds/app' }),
      VAULT_IRSA_LOG_LEVEL: 'debug',
    }),
  );
  await waitReady(sidecar);
  // from here on, nothing the clients do may reach Vault (the token's and the lease's renewals are an hour away)
  stack.vault.clearRequests();
}, 60_000);

afterAll(async () => {
  await cleanup(sidecar);
  await stack?.close();
});

const running = (): RunningSidecar => sidecar as RunningSidecar;

/** what the sidecar read from Vault for the dynamic secret, through its own API */
async function heldDynamic(): Promise<{ username: string; password: string }> {
  return (await running().get('/v1/secrets/db')).json().data;
}

(hvac.ok ? describe : describe.skip)('hvac (python3-hvac) through the sidecar', () => {
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  let out: Record<string, any>;
  beforeAll(() => {
    const r = spawnSync(PYTHON, [HVAC_SCRIPT], {
      encoding: 'utf8',
      timeout: 30_000,
      // no proxy variables: the sidecar refuses proxied requests
      env: {
        PATH: process.env.PATH ?? '/usr/bin:/bin',
        VAULT_ADDR: running().api,
        VAULT_IRSA_TOKEN_FILE: running().tokenFile,
      },
    });
    if (r.status !== 0) throw new Error(`hvac script failed (${r.status}): ${r.stderr}`);
    out = JSON.parse(r.stdout.trim().split('\n').pop() as string);
  });

  it('is authenticated with the request token, and not with another', () => {
    expect(out.authenticated).toBe(true);
    expect(out.wrong_authenticated).toBe(false);
  });

  it('reads KV v2 (secrets.kv.v2.read_secret_version), the version held too', () => {
    expect(out.kv2.data.data).toEqual(STACK_SEED);
    expect(out.kv2.data.metadata).toMatchObject({ version: 1, destroyed: false, deletion_time: '' });
    expect(out.kv2.data.metadata.created_time).toMatch(/^\d{4}-\d\d-\d\dT/);
    expect(out.kv2_version.data.data).toEqual(STACK_SEED);
    expect(out.other_version).toBe('InvalidPath');
    served.push(STACK_SEED.password);
  });

  it('reads KV v1 (secrets.kv.v1.read_secret)', () => {
    expect(out.kv1.data).toEqual({ api_key: 'kv1-api-key' });
    served.push('kv1-api-key');
  });

  it('reads the dynamic secret twice (client.read): the same lease, the credentials the sidecar holds', async () => {
    const held = await heldDynamic();
    expect(out.dynamic_1.data).toEqual(held);
    expect(out.dynamic_2.data).toEqual(held);
    expect(out.dynamic_1.lease_id).toMatch(/^database\/creds\/app\//);
    expect(out.dynamic_2.lease_id).toBe(out.dynamic_1.lease_id);
    expect(out.dynamic_1.renewable).toBe(true);
    expect(out.dynamic_2.lease_duration).toBeLessThanOrEqual(out.dynamic_1.lease_duration);
    expect(out.dynamic_1.lease_duration).toBeGreaterThan(3500);
    expect(stack.vault.liveLeases()).toHaveLength(1);
    served.push(held.password);
  });

  it('renews its token and checks health like against Vault', () => {
    expect(out.renew_self.auth).toMatchObject({ lease_duration: 0, renewable: false, policies: [] });
    expect(out.health).toMatchObject({ initialized: true, sealed: false, standby: false });
  });

  it('an undeclared path, a wrong token: hvac.exceptions.Forbidden; a write is refused', () => {
    expect(out.undeclared).toBe('Forbidden');
    expect(out.undeclared_read).toBe('Forbidden');
    expect(out.wrong_token).toBe('Forbidden');
    expect(out.wrong_token_dynamic).toBe('Forbidden');
    expect(out.write).not.toBeNull();
  });
});

describe('node-vault (npm) through the sidecar', () => {
  const client = () => NodeVault({ apiVersion: 'v1', endpoint: running().api, token: running().requestToken });

  it('reads KV v2, KV v1 and the dynamic secret twice (same lease); lookup-self, renew-self, health', async () => {
    const v = client();
    const kv2 = await v.read('secret/data/my-app');
    expect(kv2.data.data).toEqual(STACK_SEED);
    expect(kv2.data.metadata.version).toBe(1);
    const kv1 = await v.read('kv1/app');
    expect(kv1.data).toEqual({ api_key: 'kv1-api-key' });
    const d1 = await v.read('database/creds/app');
    const d2 = await v.read('database/creds/app');
    const held = await heldDynamic();
    expect(d1.data).toEqual(held);
    expect(d2.lease_id).toBe(d1.lease_id);
    expect(d2.data).toEqual(d1.data);
    served.push(STACK_SEED.password, 'kv1-api-key', held.password);

    const self = await v.tokenLookupSelf();
    expect(self.data).toMatchObject({ policies: [], accessor: '', ttl: 0 });
    const renewed = await v.tokenRenewSelf();
    expect(renewed.auth).toMatchObject({ lease_duration: 0, renewable: false });
    const health = await v.health();
    expect(health).toMatchObject({ initialized: true, sealed: false, standby: false });
  });

  it('an undeclared path and a wrong token: 403 permission denied', async () => {
    const errorOf = async (p: Promise<unknown>) => {
      try {
        await p;
      } catch (e) {
        const r = (e as { response?: { statusCode?: number; body?: unknown } }).response;
        return { status: r?.statusCode, body: r?.body, message: (e as Error).message };
      }
      throw new Error('expected a rejection');
    };
    const undeclared = await errorOf(client().read('secret/data/not-declared'));
    expect(undeclared).toEqual({ status: 403, body: { errors: ['permission denied'] }, message: 'permission denied' });
    const wrong = NodeVault({ apiVersion: 'v1', endpoint: running().api, token: 'not-the-request-token' });
    expect(await errorOf(wrong.read('secret/data/my-app'))).toMatchObject({
      status: 403,
      message: 'permission denied',
    });
    expect(await errorOf(wrong.tokenLookupSelf())).toMatchObject({ status: 403 });
    expect(await errorOf(client().write('secret/data/my-app', { data: { x: 'y' } }))).toMatchObject({ status: 405 });
  });
});

describe('over all of these reads', () => {
  it('the Vault stand-in saw no request: every answer came from memory, no read created a lease', () => {
    expect(stack.vault.requests.map((r) => `${r.method} ${r.path}`)).toEqual([]);
    expect(stack.vault.liveLeases()).toHaveLength(1);
  });

  it("no secret value, Vault token, request token or AWS key in the sidecar's log or metrics", async () => {
    const s = running();
    const metrics = await (await fetch(`${s.health}/metrics`)).text();
    expect(metrics).toMatch(/vault_irsa_secret_reads_total\{status="200"\} \d+/);
    const output = s.proc.output();
    const projected = await readFile(stack.webIdentityTokenFile, 'utf8');
    const forbidden = [
      ...new Set(served),
      s.requestToken,
      projected,
      ...issued.flatMap((c) => [c.secretAccessKey, c.sessionToken]),
    ];
    expect(served.length).toBeGreaterThan(0);
    expect(issued.length).toBeGreaterThan(0);
    for (const text of [output, metrics]) {
      for (const f of forbidden) expect(text).not.toContain(f);
      expect(text).not.toMatch(/hvs\.[A-Za-z0-9]{20,}/);
    }
  });
});
