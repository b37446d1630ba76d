/**
 * The refresher's scheduling, driven by a fake clock (jest's modern fake timers) and a scripted Vault whose
 * answers the test releases one by one, so interleavings are exact rather than likely.
 */
import { Writable } from 'node:stream';
import { jest } from '@jest/globals';
import fc from 'fast-check';
import { createLogger } from '../../../sidecar/logger.js';
import { mergePlan, parseRead, Refresher, type Plan } from '../../../sidecar/refresher.js';
import { SecretStore } from '../../../sidecar/secret-store.js';
import {
  VaultBadResponseError,
  VaultError,
  type VaultClient,
  type VaultRequest,
} from '../../../sidecar/vault-client.js';

interface Call {
  operation: string;
  path: string;
  token: string | undefined;
  body: unknown;
  answer: (status: number, body?: unknown) => void;
}

/** A Vault whose every call waits until the test answers it (or answers at once via `auto`). */
function scriptedVault(auto: (c: Omit<Call, 'answer'>) => { status: number; body?: unknown } | undefined) {
  const calls: Call[] = [];
  const pending: Call[] = [];
  const vault = {
    request(operation: string, _method: string, path: string, req: VaultRequest = {}) {
      return new Promise((resolve, reject) => {
        const call: Call = {
          operation,
          path,
          token: req.token,
          body: req.body,
          answer: (status, body) => {
            pending.splice(pending.indexOf(call), 1);
            if (status >= 200 && status < 300) resolve({ status, body });
            else reject(new VaultError(operation, status, (body as { errors?: string[] })?.errors ?? [], body ?? null));
          },
        };
        calls.push(call);
        pending.push(call);
        const a = auto(call);
        if (a) call.answer(a.status, a.body);
      });
    },
  } as unknown as VaultClient;
  return { vault, calls, pending };
}

/** A token manager reduced to what the refresher uses; `relogin` swaps the token and tells listeners. */
function fakeTokens(first: string) {
  let current = first;
  const held = [first];
  const listeners: Array<() => void> = [];
  return {
    tokens: {
      token: async () => current,
      current: () => current,
      held: () => [...held],
      onNewToken: (l: () => void) => void listeners.push(l),
      handleForbidden: async () => false,
    },
    relogin(next: string) {
      current = next;
      held.push(next);
      for (const l of listeners) l();
    },
  };
}

const silent = createLogger('silent', new Writable({ write: (_c, _e, cb) => cb() }));
function capture() {
  const lines: Array<Record<string, unknown>> = [];
  const log = createLogger(
    'debug',
    new Writable({ write: (c, _e, cb) => (lines.push(JSON.parse(String(c)) as Record<string, unknown>), cb()) }),
  );
  return { log, lines };
}

const DB_MOUNT = { status: 200, body: { data: { path: 'dyn/', type: 'database', options: null } } };
const KV2_MOUNT = { status: 200, body: { data: { path: 'secret/', type: 'kv', options: { version: '2' } } } };
let leaseN = 0;
const lease = (ttl: number) => ({
  status: 200,
  body: {
    lease_id: `dyn/creds/app/${++leaseN}`,
    lease_duration: ttl,
    renewable: true,
    data: { username: `u${leaseN}` },
  },
});

/** Lets promise callbacks run without moving the clock. */
const settle = () => jest.advanceTimersByTimeAsync(0);

describe('Refresher: a new login and a lease renewal in flight', () => {
  let refresher: Refresher | undefined;
  beforeEach(() => jest.useFakeTimers({ now: 1_000_000 }));
  afterEach(() => {
    refresher?.stop();
    refresher = undefined;
    jest.useRealTimers();
  });

  it('reads the leased secret again under the new token even when the renewal answers first', async () => {
    const v = scriptedVault((c) =>
      c.operation === 'mounts' ? DB_MOUNT : c.operation === 'read' ? lease(3) : undefined,
    );
    const t = fakeTokens('hvs.old');
    const store = new SecretStore([{ name: 'db', path: 'dyn/creds/app' }]);
    refresher = new Refresher({
      vault: v.vault,
      tokens: t.tokens,
      store,
      refreshMs: 300_000,
      log: silent,
      random: () => 0.5,
    });
    refresher.start();
    await settle();
    expect(v.calls.filter((c) => c.operation === 'read').map((c) => c.token)).toEqual(['hvs.old']);

    // the renewal at two thirds of the lease goes out and waits for its answer
    await jest.advanceTimersByTimeAsync(2000);
    const renewal = v.pending.find((c) => c.operation === 'lease_renew');
    expect(renewal).toBeDefined();

    // a re-login while it is in flight, then the renewal's answer before any timer fires
    t.relogin('hvs.new');
    renewal!.answer(200, { lease_id: 'dyn/creds/app/1', lease_duration: 3, renewable: true });
    await settle();
    await jest.advanceTimersByTimeAsync(10);

    const readsUnderNew = v.calls.filter((c) => c.operation === 'read' && c.token === 'hvs.new');
    expect(readsUnderNew).toHaveLength(1);
    expect(store.get('db')?.data).toEqual({ username: 'u2' });
    // and from then on the new lease is renewed, with the new token
    await jest.advanceTimersByTimeAsync(2000);
    const renewals = v.calls.filter((c) => c.operation === 'lease_renew');
    expect(renewals.at(-1)).toMatchObject({ token: 'hvs.new', body: { lease_id: 'dyn/creds/app/2' } });
  });

  it('reads again when the read in flight during a re-login returns a lease of the old token', async () => {
    const v = scriptedVault((c) => (c.operation === 'mounts' ? DB_MOUNT : undefined));
    const t = fakeTokens('hvs.old');
    const store = new SecretStore([{ name: 'db', path: 'dyn/creds/app' }]);
    refresher = new Refresher({
      vault: v.vault,
      tokens: t.tokens,
      store,
      refreshMs: 300_000,
      log: silent,
      random: () => 0.5,
    });
    refresher.start();
    await settle();
    const first = v.pending.find((c) => c.operation === 'read');
    expect(first?.token).toBe('hvs.old');
    t.relogin('hvs.new');
    first!.answer(lease(3).status, lease(3).body);
    await settle();
    const second = v.pending.find((c) => c.operation === 'read');
    expect(second?.token).toBe('hvs.new');
  });

  it('a renewal never replaces a pending read (every order of two requests)', () => {
    const plan = fc.record({
      action: fc.constantFrom<'read' | 'renew'>('read', 'renew'),
      at: fc.integer({ min: 0, max: 1e6 }),
    });
    fc.assert(
      fc.property(fc.option(plan, { nil: undefined }), plan, (pending: Plan | undefined, incoming: Plan) => {
        const kept = mergePlan(pending, incoming);
        if (pending?.action === 'read' || incoming.action === 'read') expect(kept.action).toBe('read');
        const sameKind = [pending, incoming].filter((p): p is Plan => p !== undefined && p.action === kept.action);
        expect(kept.at).toBe(Math.min(...sameKind.map((p) => p.at)));
      }),
    );
  });
});

describe('Refresher: mount lookup', () => {
  let refresher: Refresher | undefined;
  beforeEach(() => jest.useFakeTimers({ now: 1_000_000 }));
  afterEach(() => {
    refresher?.stop();
    refresher = undefined;
    jest.useRealTimers();
  });

  it.each([
    ['a 404', { status: 404, body: { errors: [] } }],
    ['an answer that is not mount info', { status: 200, body: { data: { nonsense: true } } }],
  ])(
    'does not remember %s as "no mount": the next retry asks again and reads the KV v2 path',
    async (_what, failed) => {
      let lookups = 0;
      const v = scriptedVault((c) => {
        if (c.operation === 'mounts') return ++lookups === 1 ? failed : KV2_MOUNT;
        if (c.path === 'secret/data/my-app')
          return { status: 200, body: { data: { data: { password: 'p' }, metadata: { version: 4 } } } };
        return { status: 404, body: { errors: [] } }; // secret/my-app read as written on a v2 mount
      });
      const t = fakeTokens('hvs.a');
      const store = new SecretStore([{ name: 'app', path: 'secret/my-app' }]);
      refresher = new Refresher({
        vault: v.vault,
        tokens: t.tokens,
        store,
        refreshMs: 300_000,
        log: silent,
        random: () => 0.5,
        retryBaseMs: 1000,
      });
      refresher.start();
      await settle();
      expect(store.get('app')?.data).toBeUndefined();
      await jest.advanceTimersByTimeAsync(1000);
      expect(store.get('app')?.data).toEqual({ password: 'p' });
      expect(lookups).toBe(2);
      // a successful answer is kept
      await jest.advanceTimersByTimeAsync(400_000);
      expect(lookups).toBe(2);
    },
  );
});

describe('Refresher: permanent failures', () => {
  let refresher: Refresher | undefined;
  beforeEach(() => jest.useFakeTimers({ now: 1_000_000 }));
  afterEach(() => {
    refresher?.stop();
    refresher = undefined;
    jest.useRealTimers();
  });

  it('a path naming the KV v2 mount itself: invalid_secret_path (400), named as annotated, never retried', async () => {
    const v = scriptedVault((c) => (c.operation === 'mounts' ? KV2_MOUNT : { status: 404 }));
    const store = new SecretStore([{ name: 'app', path: 'secret' }]);
    const { log, lines } = capture();
    refresher = new Refresher({ vault: v.vault, tokens: fakeTokens('hvs.a').tokens, store, refreshMs: 300_000, log });
    refresher.start();
    await settle();
    expect(store.get('app')?.failure).toMatchObject({
      code: 'invalid_secret_path',
      status: 400,
      message: expect.stringContaining('"secret"'),
    });
    await jest.advanceTimersByTimeAsync(3_600_000);
    expect(v.calls.filter((c) => c.operation === 'mounts')).toHaveLength(1);
    expect(lines.find((l) => l.code === 'invalid_secret_path')).toMatchObject({ retry: false });
  });

  it.each([
    [
      'Vault 400 (e.g. an unknown role)',
      { status: 400, body: { errors: ['unknown role: app'] } },
      'vault_bad_request',
      400,
    ],
    ['Vault 405', { status: 405, body: { errors: ['unsupported operation'] } }, 'vault_bad_request', 400],
    ['a 200 without data', { status: 200, body: { data: null } }, 'vault_bad_response', 502],
    ['a 200 that is not JSON', { status: 200, body: null }, 'vault_bad_response', 502],
  ])('%s: its own code, retried at the refresh period, not with backoff', async (_w, answer, code, status) => {
    const v = scriptedVault((c) => (c.operation === 'mounts' ? DB_MOUNT : answer));
    const store = new SecretStore([{ name: 'db', path: 'dyn/creds/app' }]);
    refresher = new Refresher({
      vault: v.vault,
      tokens: fakeTokens('hvs.a').tokens,
      store,
      refreshMs: 60_000,
      log: silent,
      random: () => 0.5,
    });
    refresher.start();
    await settle();
    expect(store.get('db')?.failure).toMatchObject({ code, status, permanent: true });
    await jest.advanceTimersByTimeAsync(30_000);
    expect(v.calls.filter((c) => c.operation === 'read')).toHaveLength(1);
    await jest.advanceTimersByTimeAsync(31_000);
    expect(v.calls.filter((c) => c.operation === 'read')).toHaveLength(2);
  });

  it('never stores or serves an answer that contains a token the sidecar holds, and logs no token', async () => {
    const tokenNow = 'hvs.CAESIsecretTokenValue0123456789';
    const answers = [
      { data: { id: tokenNow, policies: ['default'] } }, // auth/token/lookup-self, say through an odd mount
      { data: { nested: [{ deep: { v: `Bearer ${tokenNow}` } }] } },
      { data: { [tokenNow]: 'as a key' } },
    ];
    for (const body of answers) {
      const v = scriptedVault((c) => (c.operation === 'mounts' ? DB_MOUNT : { status: 200, body }));
      const store = new SecretStore([{ name: 'tok', path: 'dyn/creds/app' }]);
      const { log, lines } = capture();
      const r = new Refresher({ vault: v.vault, tokens: fakeTokens(tokenNow).tokens, store, refreshMs: 60_000, log });
      r.start();
      await settle();
      r.stop();
      expect(store.get('tok')).toMatchObject({ data: undefined, failure: { code: 'secret_refused', status: 403 } });
      expect(store.get('tok')?.failure?.message).toContain('"tok"');
      expect(JSON.stringify(store.get('tok'))).not.toContain(tokenNow);
      expect(lines.some((l) => l.code === 'secret_refused')).toBe(true);
      expect(JSON.stringify(lines)).not.toContain(tokenNow);
    }
  });

  it('a superseded token counts too', async () => {
    const v = scriptedVault((c) =>
      c.operation === 'mounts' ? DB_MOUNT : { status: 200, body: { data: { old: 'hvs.first-token' } } },
    );
    const t = fakeTokens('hvs.first-token');
    t.relogin('hvs.second-token');
    const store = new SecretStore([{ name: 'x', path: 'dyn/creds/app' }]);
    refresher = new Refresher({ vault: v.vault, tokens: t.tokens, store, refreshMs: 60_000, log: silent });
    refresher.start();
    await settle();
    expect(store.get('x')?.failure?.code).toBe('secret_refused');
  });

  it('a soft-deleted KV v2 latest version: the error names the version, the log does not claim stale serving', async () => {
    let deleted = false;
    const v = scriptedVault((c) => {
      if (c.operation === 'mounts') return KV2_MOUNT;
      if (!deleted) return { status: 200, body: { data: { data: { a: '1' }, metadata: { version: 3 } } } };
      return {
        status: 404,
        body: {
          data: { data: null, metadata: { version: 4, deletion_time: '2026-01-02T03:04:05Z', destroyed: false } },
        },
      };
    });
    const store = new SecretStore([{ name: 'app', path: 'secret/app' }]);
    const { log, lines } = capture();
    refresher = new Refresher({
      vault: v.vault,
      tokens: fakeTokens('hvs.a').tokens,
      store,
      refreshMs: 60_000,
      log,
      random: () => 0.5,
    });
    refresher.start();
    await settle();
    deleted = true;
    await jest.advanceTimersByTimeAsync(70_000);
    expect(store.get('app')?.failure).toMatchObject({
      code: 'secret_not_found',
      message: expect.stringMatching(/version 4.*deleted at 2026-01-02T03:04:05Z/),
    });
    const line = lines.find((l) => l.code === 'secret_not_found');
    expect(line?.event).toBe('secret_withdrawn');
    expect(String(line?.msg)).not.toMatch(/stale/);
  });
});

describe('parseRead: what a read answer must hold', () => {
  it('KV v2: data.data and the version; a deleted version is a 404; anything else a bad response', () => {
    expect(parseRead('kv2', { data: { data: { a: '1' }, metadata: { version: 7 } } })).toMatchObject({
      data: { a: '1' },
      version: 7,
      renewable: false,
      leaseId: undefined,
    });
    expect(() => parseRead('kv2', { data: { data: null, metadata: { version: 3, deletion_time: 'x' } } })).toThrow(
      expect.objectContaining({ status: 404 }),
    );
    for (const body of [null, {}, { data: null }, { data: { data: [1] } }, { data: { data: 'x' } }]) {
      expect(() => parseRead('kv2', body)).toThrow(VaultBadResponseError);
    }
  });

  it('other engines: data, lease and renewability as Vault said; no data object is a bad response', () => {
    expect(parseRead('kv1', { data: { u: 'x' }, lease_id: 'dyn/1', lease_duration: 60, renewable: true })).toEqual({
      data: { u: 'x' },
      version: 0,
      leaseId: 'dyn/1',
      leaseDuration: 60,
      renewable: true,
    });
    expect(parseRead('kv1', { data: { u: 'x' }, lease_id: '', lease_duration: 'long' })).toEqual({
      data: { u: 'x' },
      version: 0,
      leaseId: undefined,
      leaseDuration: 0,
      renewable: false,
    });
    for (const body of [undefined, { data: [] }, { data: 'x' }])
      expect(() => parseRead('kv1', body)).toThrow(VaultBadResponseError);
  });
});

describe('Refresher: what is read when', () => {
  let refresher: Refresher | undefined;
  beforeEach(() => jest.useFakeTimers({ now: 1_000_000 }));
  afterEach(() => {
    refresher?.stop();
    refresher = undefined;
    jest.useRealTimers();
  });
  const KV2 = { status: 200, body: { data: { data: { a: '1' }, metadata: { version: 1 } } } };
  const start = (
    auto: Parameters<typeof scriptedVault>[0],
    o: { refreshMs?: number; tokens?: ReturnType<typeof fakeTokens>['tokens'] } = {},
  ) => {
    const v = scriptedVault(auto);
    const store = new SecretStore([{ name: 'cfg', path: 'secret/app' }]);
    const { log, lines } = capture();
    refresher = new Refresher({
      vault: v.vault,
      tokens: o.tokens ?? fakeTokens('hvs.a').tokens,
      store,
      refreshMs: o.refreshMs ?? 60_000,
      log,
      random: () => 0.5,
    });
    refresher.start();
    return { v, store, lines, reads: () => v.calls.filter((c) => c.operation === 'read') };
  };

  it('a non-leased secret is read at start, then once per refresh period, never sooner', async () => {
    const s = start((c) => (c.operation === 'mounts' ? KV2_MOUNT : KV2));
    await settle();
    expect(s.reads().map((c) => c.path)).toEqual(['secret/data/app']);
    await jest.advanceTimersByTimeAsync(59_000);
    expect(s.reads()).toHaveLength(1);
    await jest.advanceTimersByTimeAsync(2_000);
    expect(s.reads()).toHaveLength(2);
    // the mount was looked up once and remembered
    expect(s.v.calls.filter((c) => c.operation === 'mounts')).toHaveLength(1);
  });

  it('a transient failure is retried with backoff, well before the refresh period', async () => {
    let n = 0;
    const s = start(
      (c) => (c.operation === 'mounts' ? KV2_MOUNT : ++n === 1 ? { status: 503, body: { errors: ['sealed'] } } : KV2),
      { refreshMs: 600_000 },
    );
    await settle();
    expect(s.store.get('cfg')?.failure?.code).toBe('vault_unavailable');
    await jest.advanceTimersByTimeAsync(60_000);
    expect(s.reads()).toHaveLength(2);
    expect(s.store.get('cfg')?.data).toEqual({ a: '1' });
  });

  it('a permanent failure (an answer that is not a secret) waits for the refresh period, not the backoff', async () => {
    const s = start((c) => (c.operation === 'mounts' ? KV2_MOUNT : { status: 200, body: { data: null } }), {
      refreshMs: 120_000,
    });
    await settle();
    expect(s.store.get('cfg')?.failure?.code).toBe('vault_bad_response');
    await jest.advanceTimersByTimeAsync(60_000);
    expect(s.reads()).toHaveLength(1);
    await jest.advanceTimersByTimeAsync(61_000);
    expect(s.reads()).toHaveLength(2);
  });

  it('a mount lookup Vault does not answer (404, or not mount info) reads the path as written and asks again next time', async () => {
    let lookups = 0;
    const s = start((c) =>
      c.operation === 'mounts'
        ? ++lookups === 1
          ? { status: 404 }
          : { status: 200, body: { nonsense: true } }
        : { status: 200, body: { data: { a: '1' } } },
    );
    await settle();
    expect(s.reads().map((c) => c.path)).toEqual(['secret/app']);
    await jest.advanceTimersByTimeAsync(61_000);
    expect(lookups).toBe(2);
    expect(s.lines.some((l) => l.event === 'mount_lookup_failed')).toBe(true);
  });

  it('a 403 on a token the token manager replaces is retried once with the new token', async () => {
    const t = fakeTokens('hvs.a');
    t.tokens.handleForbidden = async () => (t.relogin('hvs.b'), true);
    const s = start(
      (c) =>
        c.operation === 'mounts'
          ? KV2_MOUNT
          : c.token === 'hvs.a'
            ? { status: 403, body: { errors: ['permission denied'] } }
            : KV2,
      { tokens: t.tokens },
    );
    await settle();
    expect(s.reads().map((c) => c.token)).toEqual(['hvs.a', 'hvs.b']);
    expect(s.store.get('cfg')?.data).toEqual({ a: '1' });
  });

  it('stop: no Vault call after it, whatever was scheduled', async () => {
    const s = start((c) => (c.operation === 'mounts' ? KV2_MOUNT : KV2));
    await settle();
    const before = s.v.calls.length;
    refresher?.stop();
    await jest.advanceTimersByTimeAsync(10 * 60_000);
    expect(s.v.calls.length).toBe(before);
  });
});

describe('Refresher: lease renewal or a new read', () => {
  let refresher: Refresher | undefined;
  beforeEach(() => jest.useFakeTimers({ now: 1_000_000 }));
  afterEach(() => {
    refresher?.stop();
    refresher = undefined;
    jest.useRealTimers();
  });
  const run = (renew: (c: Omit<Call, 'answer'>) => { status: number; body?: unknown }) => {
    const v = scriptedVault((c) =>
      c.operation === 'mounts' ? DB_MOUNT : c.operation === 'read' ? lease(30) : renew(c),
    );
    const store = new SecretStore([{ name: 'db', path: 'dyn/creds/app' }]);
    const { log, lines } = capture();
    refresher = new Refresher({
      vault: v.vault,
      tokens: fakeTokens('hvs.a').tokens,
      store,
      refreshMs: 300_000,
      log,
      random: () => 0.5,
    });
    refresher.start();
    return { v, lines, ops: () => v.calls.map((c) => c.operation).filter((o) => o !== 'mounts') };
  };

  it('a lease granted in full is renewed again at two thirds of it, with no new read', async () => {
    const r = run(() => ({ status: 200, body: { lease_duration: 30, renewable: true } }));
    await settle();
    await jest.advanceTimersByTimeAsync(20_000);
    expect(r.ops()).toEqual(['read', 'lease_renew']);
    await jest.advanceTimersByTimeAsync(20_000);
    expect(r.ops()).toEqual(['read', 'lease_renew', 'lease_renew']);
  });

  it('a lease capped below what was asked is replaced by a read at once', async () => {
    const r = run(() => ({ status: 200, body: { lease_duration: 5, renewable: true } }));
    await settle();
    await jest.advanceTimersByTimeAsync(20_000);
    await jest.advanceTimersByTimeAsync(10);
    expect(r.ops()).toEqual(['read', 'lease_renew', 'read']);
    expect(r.lines.some((l) => l.event === 'lease_capped')).toBe(true);
  });

  it('a failed renewal reads the secret again at once', async () => {
    const r = run(() => ({ status: 400, body: { errors: ['lease not found'] } }));
    await settle();
    await jest.advanceTimersByTimeAsync(20_000);
    expect(r.ops()).toEqual(['read', 'lease_renew', 'read']);
    expect(r.lines.find((l) => l.event === 'lease_renew_failed')).toMatchObject({ secretName: 'db' });
  });
});
