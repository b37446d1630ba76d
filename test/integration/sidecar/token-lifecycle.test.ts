import { startStack, type StackExt } from '../../../stand-ins/stack.js';
import { cleanup, startSidecar, waitFor, waitReady, type RunningSidecar } from './helpers.js';

let stack: StackExt;
let sidecar: RunningSidecar | undefined;

beforeAll(async () => {
  // TTL 3 s, max TTL 7 s: renewals at ~2 s, the renewal that hits the max TTL comes back capped.
  stack = await startStack({ tokenTtlSeconds: 3, tokenMaxTtlSeconds: 7 });
  sidecar = await startSidecar(
    stack.sidecarEnv({ VAULT_IRSA_SECRETS: JSON.stringify({ app: 'secret/my-app' }), VAULT_IRSA_REFRESH: '1s' }),
  );
  await waitReady(sidecar);
});

afterAll(async () => {
  await cleanup(sidecar);
  await stack?.close();
});

const okLogins = () => stack.vault.logins.filter((l) => l.ok).length;

describe('token lifecycle with short TTLs', () => {
  it('renews the token before it expires', async () => {
    await waitFor(
      () => stack.vault.requests.some((r) => r.path === 'auth/token/renew-self' && r.status === 200),
      15_000,
    );
    const s = sidecar as RunningSidecar;
    await waitFor(() => s.proc.output().includes('"event":"renewal"'), 10_000);
  });

  it('logs in again when a renewal is capped by the max TTL, and keeps serving', async () => {
    await waitFor(() => okLogins() >= 2, 20_000);
    const s = sidecar as RunningSidecar;
    expect(s.proc.output()).toMatch(/"event":"(renewal_capped|relogin)"/);
    // the refresh keeps working under the new token: a new value shows up
    stack.vault.writeKv('secret', 'my-app', { username: 'app-user', password: 'rotated-after-relogin' });
    await waitFor(async () => (await s.get('/v1/secrets/app/password')).body === 'rotated-after-relogin', 15_000);
    expect((await s.get('/v1/secrets/app')).json().stale).toBe(false);
  });

  it('logs in again when Vault refuses a token that worked (403), without going stale for long', async () => {
    const s = sidecar as RunningSidecar;
    const before = okLogins();
    stack.vault.expireAllTokens();
    await waitFor(() => okLogins() > before, 15_000);
    stack.vault.writeKv('secret', 'my-app', { username: 'app-user', password: 'after-403' });
    await waitFor(async () => (await s.get('/v1/secrets/app/password')).body === 'after-403', 15_000);
    // whichever meets the dead token first: a read (403, lookup-self confirms: token_rejected) or the renewal
    // timer (renewal_failed); both log in again. The 403 path alone is in token-manager.test.ts.
    expect(s.proc.output()).toMatch(/"event":"(token_rejected|renewal_failed)"/);
    // the login never failed along the way
    expect(stack.vault.logins.every((l) => l.ok)).toBe(true);
  });

  it('stays ready while it logs in again: readiness counts the first read only', async () => {
    const s = sidecar as RunningSidecar;
    const before = okLogins();
    // slow the re-login down (Vault 500s, retried with backoff) so the window without a token is long
    stack.vault.injectFault({ pathPrefix: 'auth/aws/login', status: 500, times: 3 });
    stack.vault.expireAllTokens();
    const statuses: number[] = [];
    const poll = setInterval(
      () =>
        void fetch(`${s.health}/readyz`).then(
          (r) => statuses.push(r.status),
          () => undefined,
        ),
      50,
    );
    try {
      await waitFor(() => okLogins() > before, 20_000);
    } finally {
      clearInterval(poll);
    }
    expect(statuses.length).toBeGreaterThan(5);
    expect(statuses.filter((x) => x !== 200)).toEqual([]);
  });

  it('revokes its token on SIGTERM and exits 0', async () => {
    const s = sidecar as RunningSidecar;
    await waitFor(() => stack.vault.liveTokens().length >= 1, 10_000);
    const exit = await s.stop();
    expect(exit.code).toBe(0);
    // the current token and any older one still alive are revoked: nothing the pod had is left
    await waitFor(
      () => stack.vault.requests.some((r) => r.path === 'auth/token/revoke-self' && r.status === 204),
      5000,
    );
    expect(stack.vault.liveTokens()).toEqual([]);
  });
});
