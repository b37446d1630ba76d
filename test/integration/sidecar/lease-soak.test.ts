/**
 * Soak: a leased secret through a minute of re-logins. Token TTL 3 s (max 9 s) and lease TTL 4 s (max 12 s)
 * put a re-login every few seconds with lease renewals in flight around it. Vault revokes a lease when the
 * token that created it expires (the stand-in does too), so every re-login must be followed by a read under
 * the new token. While an app reads all along, the value served must always be backed by a live lease, and
 * no renewal may hit a lease Vault no longer has. The deterministic form of the interleaving this hunts is in
 * test/unit/sidecar/refresher.test.ts.
 */
import { startStack, STACK_POLICY, type StackExt } from '../../../stand-ins/stack.js';
import { cleanup, startSidecar, waitReady, type RunningSidecar } from './helpers.js';

const SOAK_MS = 62_000;
let stack: StackExt;
let sidecar: RunningSidecar | undefined;

beforeAll(async () => {
  stack = await startStack({ tokenTtlSeconds: 3, tokenMaxTtlSeconds: 9 });
  stack.vault.writePolicy(STACK_POLICY, {
    'dyn/creds/*': ['read'],
    'sys/internal/ui/mounts/*': ['read'],
    'sys/leases/renew': ['update'],
  });
  stack.vault.enableDynamic('dyn', 'app', { ttlSeconds: 4, maxTtlSeconds: 12 });
  sidecar = await startSidecar(stack.sidecarEnv({ VAULT_IRSA_SECRETS: JSON.stringify({ db: 'dyn/creds/app' }) }));
  await waitReady(sidecar);
  // answers in bursts, logins first: a re-login's answer and a lease renewal's answer then often reach the
  // sidecar together, the interleaving where a re-read after the re-login used to be lost
  stack.vault.answerInBursts(100);
});

afterAll(async () => {
  await cleanup(sidecar);
  await stack?.close();
});

describe('leases across re-logins (soak)', () => {
  it(
    `for ${SOAK_MS / 1000} s the served credentials always belong to a live lease, and no renewal finds its lease gone`,
    async () => {
      const s = sidecar as RunningSidecar;
      const loginsBefore = stack.vault.logins.filter((l) => l.ok).length;
      const bad: string[] = [];
      let checks = 0;
      const end = Date.now() + SOAK_MS;
      while (Date.now() < end) {
        const r = await s.get('/v1/secrets/db');
        checks++;
        if (r.status !== 200) {
          bad.push(`${r.status} ${r.body}`);
        } else {
          const body = r.json() as { data: { username: string }; stale: boolean };
          const lease = stack.vault.leaseOfUsername(body.data.username);
          if (body.stale) bad.push(`served stale: ${body.data.username}`);
          if (lease?.state !== 'live')
            bad.push(`served ${body.data.username} whose lease is ${lease?.state ?? 'unknown'}`);
        }
        await new Promise((res) => setTimeout(res, 100));
      }
      const relogins = stack.vault.logins.filter((l) => l.ok).length - loginsBefore;
      const renewals = stack.vault.requests.filter((r) => r.path === 'sys/leases/renew');
      const refused = renewals.filter((r) => r.status !== 200);
      const output = s.proc.output();
      // the soak did what it is for: many re-logins with renewals around them (a 3 s token leaves a re-login
      // 1 s before the old token expires: 2 s TTLs left 0.67 s, which a loaded machine could miss)
      expect(relogins).toBeGreaterThanOrEqual(5);
      expect(renewals.length).toBeGreaterThanOrEqual(10);
      expect(checks).toBeGreaterThan(100);
      expect(refused.map((r) => `${r.status} at ${r.at}`)).toEqual([]);
      expect(output).not.toMatch(/lease not found|lease_renew_failed/);
      expect(bad.slice(0, 10)).toEqual([]);
    },
    SOAK_MS + 20_000,
  );
});
