import { startStack, STACK_POLICY, type StackExt } from '../../../stand-ins/stack.js';
import { cleanup, startSidecar, waitFor, waitReady, type RunningSidecar } from './helpers.js';

let stack: StackExt;
let sidecar: RunningSidecar | undefined;

beforeAll(async () => {
  stack = await startStack();
  stack.vault.writePolicy(STACK_POLICY, {
    'secret/data/*': ['read'],
    'dyn/creds/*': ['read'],
    'sys/internal/ui/mounts/*': ['read'],
    'sys/leases/renew': ['update'],
  });
  stack.vault.enableDynamic('dyn', 'long', { ttlSeconds: 3, maxTtlSeconds: 600 });
  stack.vault.enableDynamic('dyn', 'short', { ttlSeconds: 3, maxTtlSeconds: 5 });
  sidecar = await startSidecar(
    stack.sidecarEnv({ VAULT_IRSA_SECRETS: JSON.stringify({ long: 'dyn/creds/long', short: 'dyn/creds/short' }) }),
  );
  await waitReady(sidecar);
});

afterAll(async () => {
  await cleanup(sidecar);
  await stack?.close();
});

const renewals = () => stack.vault.requests.filter((r) => r.path === 'sys/leases/renew' && r.status === 200).length;
const reads = (p: string) => stack.vault.requests.filter((r) => r.path === p && r.status === 200).length;

describe('dynamic secrets', () => {
  it('renews a lease and keeps the same credentials while it can be extended', async () => {
    const s = sidecar as RunningSidecar;
    const first = (await s.get('/v1/secrets/long')).json();
    expect(first.leaseDuration).toBe(3);
    await waitFor(() => renewals() >= 2, 15_000);
    const later = (await s.get('/v1/secrets/long')).json();
    expect(later.data).toEqual(first.data);
    expect(reads('dyn/creds/long')).toBe(1);
    expect(stack.vault.liveLeases().length).toBeGreaterThanOrEqual(1);
  });

  it('reads fresh credentials before a lease that can no longer be extended runs out', async () => {
    const s = sidecar as RunningSidecar;
    const first = await s.get('/v1/secrets/short');
    await waitFor(() => reads('dyn/creds/short') >= 2, 20_000);
    await waitFor(
      async () => (await s.get('/v1/secrets/short')).headers.get('etag') !== first.headers.get('etag'),
      5000,
    );
    const next = (await s.get('/v1/secrets/short')).json();
    expect(next.data).not.toEqual(first.json().data);
    expect(next.stale).toBe(false);
  });
});
