import { startStack, STACK_SEED, type StackExt } from '../../../stand-ins/stack.js';
import { cleanup, startSidecar, waitFor, waitReady, type RunningSidecar } from './helpers.js';

let stack: StackExt;
let sidecar: RunningSidecar | undefined;

beforeAll(async () => {
  stack = await startStack();
  sidecar = await startSidecar(
    stack.sidecarEnv({ VAULT_IRSA_SECRETS: JSON.stringify({ app: 'secret/my-app' }), VAULT_IRSA_REFRESH: '1s' }),
  );
  await waitReady(sidecar);
});

afterAll(async () => {
  await cleanup(sidecar);
  await stack?.close();
});

describe('Vault outage', () => {
  it('rides out transient 500s and 429s without going stale', async () => {
    const s = sidecar as RunningSidecar;
    stack.vault.clearRequests();
    stack.vault.injectFault({ pathPrefix: 'secret/data/my-app', status: 500, times: 1 });
    stack.vault.injectFault({ pathPrefix: 'secret/data/my-app', status: 429, times: 1, retryAfterSeconds: 1 });
    await waitFor(
      () =>
        stack.vault.requests.filter((r) => r.path === 'secret/data/my-app' && r.status === 200).length >= 1 &&
        stack.vault.requests.some((r) => r.status === 429),
      15_000,
    );
    const r = (await s.get('/v1/secrets/app')).json();
    expect(r.stale).toBe(false);
    expect(s.proc.output()).not.toContain('"event":"secret_stale"');
  });

  it('serves the last value as stale while Vault is down, then the new value once it is back', async () => {
    const s = sidecar as RunningSidecar;
    const before = await s.get('/v1/secrets/app');
    const etag = before.headers.get('etag') as string;
    await stack.vault.stop();
    await waitFor(async () => (await s.get('/v1/secrets/app')).json().stale === true, 20_000);
    const during = await s.get('/v1/secrets/app');
    expect(during.status).toBe(200);
    expect(during.json()).toMatchObject({ stale: true, data: STACK_SEED });
    expect((await s.get('/v1/secrets')).json().secrets[0].stale).toBe(true);
    expect(await (await fetch(`${s.health}/metrics`)).text()).toMatch(/vault_irsa_secret_stale\{secret="app"\} 1/);
    // readiness holds: the secret was read once
    expect((await fetch(`${s.health}/readyz`)).status).toBe(200);

    // an app long-polling through the outage is woken by the change
    const poll = s.get('/v1/secrets/app?wait=60s', { 'if-none-match': etag });
    stack.vault.writeKv('secret', 'my-app', { username: 'app-user', password: 'changed-during-outage' });
    await stack.vault.start();
    const woken = await poll;
    expect(woken.status).toBe(200);
    expect(woken.json()).toMatchObject({ stale: false, version: 2, data: { password: 'changed-during-outage' } });
    expect(woken.headers.get('etag')).not.toBe(etag);
    const out = s.proc.output();
    expect(out).toContain('"event":"secret_stale"');
    await waitFor(() => s.proc.output().includes('"event":"secret_fresh"'), 5000);
  });
});
