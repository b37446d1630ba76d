import { startStack, type StackExt } from '../../../stand-ins/stack.js';
import { cleanup, startSidecar, waitFor, type RunningSidecar } from './helpers.js';

let stack: StackExt;
let sidecar: RunningSidecar | undefined;

beforeAll(async () => {
  stack = await startStack();
  stack.vault.enableKv('private', 2);
  stack.vault.writeKv('private', 'payroll', { salary: 'private-value-77' });
  sidecar = await startSidecar(
    stack.sidecarEnv({
      VAULT_IRSA_SECRETS: JSON.stringify({
        app: 'secret/my-app',
        payroll: 'private/payroll',
        gone: 'secret/does-not-exist',
      }),
    }),
  );
});

afterAll(async () => {
  await cleanup(sidecar);
  await stack?.close();
});

describe('secrets Vault will not give', () => {
  it("403 vault_permission_denied with Vault's message; 404 secret_not_found; the readable one is served", async () => {
    const s = sidecar as RunningSidecar;
    await waitFor(async () => (await s.get('/v1/secrets/app')).status === 200, 20_000);
    const denied = await waitFor(async () => {
      const r = await s.get('/v1/secrets/payroll');
      return r.status === 403 ? r : undefined;
    }, 20_000);
    expect(denied.json().error.code).toBe('vault_permission_denied');
    expect(denied.json().error.message).toMatch(/permission denied/);
    expect(denied.body).not.toContain('private-value-77');
    const gone = await waitFor(async () => {
      const r = await s.get('/v1/secrets/gone');
      return r.status === 404 ? r : undefined;
    }, 20_000);
    expect(gone.json().error.code).toBe('secret_not_found');
    // a policy 403 on a live token is not mistaken for a dead token: no second login
    expect(stack.vault.logins.filter((l) => l.ok)).toHaveLength(1);
  });

  it('/readyz stays 503 naming the secrets, without paths or values, and the sidecar keeps retrying', async () => {
    const s = sidecar as RunningSidecar;
    const r = await fetch(`${s.health}/readyz`);
    expect(r.status).toBe(503);
    const body = (await r.json()) as { error: { code: string; message: string } };
    expect(body.error.code).toBe('not_ready');
    expect(body.error.message).toContain('"payroll"');
    expect(body.error.message).toContain('"gone"');
    expect(body.error.message).not.toContain('private/payroll');
    const count = () => stack.vault.requests.filter((q) => q.path.includes('does-not-exist')).length;
    const before = count();
    await waitFor(() => count() > before, 15_000);
    // granting access later makes it ready without a restart
    stack.vault.writeKv('secret', 'does-not-exist', { now: 'exists' });
    await waitFor(async () => (await s.get('/v1/secrets/gone')).status === 200, 40_000);
  });
});
