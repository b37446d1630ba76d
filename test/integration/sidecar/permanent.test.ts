/**
 * Failures a retry cannot cure, end to end against the Vault stand-in: a path naming the KV v2 mount itself,
 * and a KV v2 latest version soft-deleted after it was served.
 */
import { startStack, type StackExt } from '../../../stand-ins/stack.js';
import { cleanup, startSidecar, waitFor, type RunningSidecar } from './helpers.js';

let stack: StackExt;
let sidecar: RunningSidecar | undefined;

beforeAll(async () => {
  stack = await startStack();
  stack.vault.writeKv('secret', 'soon-deleted', { v: 'one' });
  sidecar = await startSidecar(
    stack.sidecarEnv({
      VAULT_IRSA_SECRETS: JSON.stringify({ mount: 'secret', del: 'secret/soon-deleted' }),
      VAULT_IRSA_REFRESH: '1s',
    }),
  );
});

afterAll(async () => {
  await cleanup(sidecar);
  await stack?.close();
});

describe('permanent failures', () => {
  it('a path naming the KV v2 mount: 400 invalid_secret_path naming the path as annotated, not retried', async () => {
    const s = sidecar as RunningSidecar;
    const r = await waitFor(async () => {
      const x = await s.get('/v1/secrets/mount');
      return x.status === 400 ? x : undefined;
    }, 20_000);
    expect(r.json().error.code).toBe('invalid_secret_path');
    expect(r.json().error.message).toContain('"secret"');
    const lookups = () => stack.vault.requests.filter((q) => q.path === 'sys/internal/ui/mounts/secret').length;
    const seen = lookups();
    await new Promise((res) => setTimeout(res, 3000));
    expect(lookups()).toBe(seen);
    expect(s.proc.output()).toMatch(/"code":"invalid_secret_path"[^\n]*"retry":false/);
  });

  it('a soft-deleted latest version: 404 naming the version, and the log does not claim stale serving', async () => {
    const s = sidecar as RunningSidecar;
    await waitFor(async () => (await s.get('/v1/secrets/del/v')).body === 'one', 20_000);
    stack.vault.deleteKvLatest('secret', 'soon-deleted');
    const r = await waitFor(async () => {
      const x = await s.get('/v1/secrets/del');
      return x.status === 404 ? x : undefined;
    }, 15_000);
    expect(r.json().error).toMatchObject({
      code: 'secret_not_found',
      message: expect.stringMatching(/version 1\b.*deleted at /),
    });
    await waitFor(() => s.proc.output().includes('"event":"secret_withdrawn"'), 5000);
    const lines = s.proc
      .output()
      .split('\n')
      .filter((l) => l.includes('"secretName":"del"') && l.includes('secret_not_found'));
    expect(lines.length).toBeGreaterThan(0);
    for (const l of lines) expect(l).not.toMatch(/stale/);
  });
});
