import { fullJitter, jittered } from './backoff.js';
import { SecretRefusedError } from './errors.js';
import { parseMountInfo, readTargetFor, type MountInfo, type ReadTarget } from './kv-path.js';
import type { Logger } from './logger.js';
import type { Metrics } from './metrics.js';
import { classifyFailure, containsAnyString } from './secret-failure.js';
import { servesStale, type SecretStore } from './secret-store.js';
import type { TokenManager } from './token-manager.js';
import { VaultBadResponseError, VaultError, type VaultClient } from './vault-client.js';

export { classifyFailure } from './secret-failure.js';

export interface ReadResult {
  data: Record<string, unknown>;
  version: number;
  leaseId: string | undefined;
  leaseDuration: number;
  renewable: boolean;
  /** KV v2 only: data.metadata as Vault sent it */
  metadata?: Record<string, unknown>;
}

/** Vault's read envelope → the secret. KV v2 keeps the secret in data.data and its version in data.metadata. Pure. */
export function parseRead(kind: ReadTarget['kind'], body: unknown): ReadResult {
  const b = (body ?? {}) as {
    data?: unknown;
    lease_id?: unknown;
    lease_duration?: unknown;
    renewable?: unknown;
  };
  const leaseDuration = typeof b.lease_duration === 'number' ? b.lease_duration : 0;
  const leaseId = typeof b.lease_id === 'string' && b.lease_id !== '' ? b.lease_id : undefined;
  if (kind === 'kv2') {
    const d = b.data as { data?: unknown; metadata?: { version?: unknown } } | null | undefined;
    if (d && typeof d === 'object' && d.data === null) {
      // a deleted or destroyed version (Vault says so with a 404 and this same body): classifyFailure names it
      throw new VaultError('read', 404, [], body);
    }
    if (!d || typeof d !== 'object' || typeof d.data !== 'object' || d.data === null || Array.isArray(d.data)) {
      throw new VaultBadResponseError('read', 'a KV v2 answer without a data.data object');
    }
    const version = typeof d.metadata?.version === 'number' ? d.metadata.version : 0;
    const metadata =
      d.metadata && typeof d.metadata === 'object' && !Array.isArray(d.metadata)
        ? (d.metadata as Record<string, unknown>)
        : undefined;
    return {
      data: d.data as Record<string, unknown>,
      version,
      leaseId: undefined,
      leaseDuration,
      renewable: false,
      ...(metadata ? { metadata } : {}),
    };
  }
  if (!b.data || typeof b.data !== 'object' || Array.isArray(b.data))
    throw new VaultBadResponseError('read', 'no data object in the answer');
  return {
    data: b.data as Record<string, unknown>,
    version: 0,
    leaseId,
    leaseDuration,
    renewable: b.renewable === true,
  };
}

/**
 * A secret's next Vault call. A read outranks a renewal: a renewal keeps the current lease, a read replaces
 * it, and a read asked for (a new token, a lease that cannot be extended, a retry) must never be lost to a
 * renewal scheduled later. Between two of the same kind the earlier wins.
 */
export type NextAction = 'read' | 'renew';
export interface Plan {
  action: NextAction;
  /** when, in ms since the epoch */
  at: number;
}
const RANK: Record<NextAction, number> = { renew: 0, read: 1 };

/** The pending plan and a new request → the one plan to keep. Pure. */
export function mergePlan(pending: Plan | undefined, incoming: Plan): Plan {
  if (pending === undefined) return incoming;
  if (RANK[incoming.action] !== RANK[pending.action])
    return RANK[incoming.action] > RANK[pending.action] ? incoming : pending;
  return incoming.at < pending.at ? incoming : pending;
}

interface Tracked {
  name: string;
  path: string;
  /** the mount the path lives on, once Vault answered the lookup; only a successful answer is kept */
  mount: MountInfo | undefined;
  /** at most one pending plan; its timer runs only while no call for this secret is in flight */
  next: Plan | undefined;
  timer: NodeJS.Timeout | undefined;
  running: boolean;
  /** a failure no later read can change (e.g. the path names a mount): nothing more is scheduled */
  halted: boolean;
  failures: number;
  leaseId: string | undefined;
  leaseTtl: number;
  /** the Vault token the lease was created under: a lease dies with its token */
  leaseToken: string | undefined;
}

export interface RefresherOptions {
  vault: VaultClient;
  tokens: Pick<TokenManager, 'token' | 'current' | 'held' | 'onNewToken' | 'handleForbidden'>;
  store: SecretStore;
  refreshMs: number;
  log: Logger;
  metrics?: Metrics;
  random?: () => number;
  now?: () => number;
  /** first retry delay after a failed read (default 1 s); the cap is min(30 s, refresh) */
  retryBaseMs?: number;
}

/**
 * Reads each declared secret once, then keeps it fresh: static secrets every `refreshMs` (±10 %),
 * leased secrets renewed at two thirds of their lease and read again when a lease can no longer be
 * extended or was created under a token that has since been replaced. A failed read retries with backoff;
 * the store serves the last value as stale meanwhile (while Vault is unreachable).
 *
 * Each secret has one pending plan (see mergePlan) and at most one call in flight; requests that arrive
 * while a call is in flight are merged into the plan and run after it.
 */
export class Refresher {
  private readonly tracked = new Map<string, Tracked>();
  private stopped = false;
  private readonly random: () => number;
  private readonly now: () => number;

  constructor(private readonly o: RefresherOptions) {
    this.random = o.random ?? Math.random;
    this.now = o.now ?? Date.now;
    for (const e of o.store.list()) {
      this.tracked.set(e.name, {
        name: e.name,
        path: e.path,
        mount: undefined,
        next: undefined,
        timer: undefined,
        running: false,
        halted: false,
        failures: 0,
        leaseId: undefined,
        leaseTtl: 0,
        leaseToken: undefined,
      });
    }
    // Leases belong to the token that created them, and Vault revokes them when that token expires: after
    // every new login, read each leased secret again under the new token. A read in flight right now may
    // still return a lease of the old token: that read's outcome checks the token it used (see read()).
    o.tokens.onNewToken(() => {
      for (const t of this.tracked.values()) if (t.leaseId !== undefined) this.request(t, 'read', 0);
    });
  }

  start(): void {
    for (const t of this.tracked.values()) this.request(t, 'read', 0);
  }

  stop(): void {
    this.stopped = true;
    for (const t of this.tracked.values()) {
      if (t.timer) clearTimeout(t.timer);
      t.timer = undefined;
      t.next = undefined;
    }
  }

  /** Asks for `action` in `delayMs`, merged with what is already planned for this secret. */
  private request(t: Tracked, action: NextAction, delayMs: number): void {
    if (this.stopped || t.halted) return;
    t.next = mergePlan(t.next, { action, at: this.now() + delayMs });
    if (!t.running) this.arm(t);
  }

  private arm(t: Tracked): void {
    if (t.timer) clearTimeout(t.timer);
    t.timer = undefined;
    if (this.stopped || t.halted || t.next === undefined) return;
    t.timer = setTimeout(
      () => {
        t.timer = undefined;
        void this.run(t);
      },
      Math.max(0, t.next.at - this.now()),
    );
    t.timer.unref();
  }

  private async run(t: Tracked): Promise<void> {
    // one call in flight per secret: a plan that comes due meanwhile waits for it (arm() after the call)
    if (t.running) return;
    const plan = t.next;
    t.next = undefined;
    if (this.stopped || t.halted || plan === undefined) return;
    t.running = true;
    try {
      // a renewal only extends a lease of the current token; anything else is replaced by a read
      const renew = plan.action === 'renew' && t.leaseId !== undefined && t.leaseToken === this.o.tokens.current();
      if (renew) await this.renewLease(t);
      else await this.read(t);
    } finally {
      t.running = false;
    }
    this.arm(t);
  }

  private async read(t: Tracked): Promise<void> {
    const { store, log, metrics } = this.o;
    const before = store.get(t.name);
    const wasStale = before?.stale ?? false;
    try {
      const { result, token, target } = await this.readFromVault(t);
      // Last line of defence: a path that echoes the caller's token (whatever config let through) must never
      // hand the sidecar's Vault token to the app.
      if (containsAnyString([result.data, result.metadata], this.o.tokens.held())) {
        throw new SecretRefusedError(
          `Vault's answer for "${t.path}" contains a Vault token the sidecar holds: secret "${t.name}" is refused, neither stored nor served`,
        );
      }
      const changed = store.update(t.name, {
        data: result.data,
        version: result.version,
        leaseDuration: result.leaseDuration,
        vault: {
          apiPath: target.apiPath,
          kind: target.kind,
          mount: t.mount,
          leaseId: result.leaseId,
          renewable: result.renewable,
          metadata: result.metadata,
        },
      });
      metrics?.secretRefreshes.inc({ outcome: 'success' });
      metrics?.lastRefresh.set({ secret: t.name }, Date.now() / 1000);
      metrics?.stale.set({ secret: t.name }, 0);
      metrics?.secretFailed(t.name, undefined);
      if (t.failures > 0 || wasStale || changed) {
        log.info(
          {
            event: wasStale ? 'secret_fresh' : 'secret_read',
            secretName: t.name,
            changed,
            version: store.get(t.name)?.version,
          },
          wasStale ? 'secret is fresh again' : changed ? 'secret read' : 'secret read again',
        );
      }
      t.failures = 0;
      t.leaseId = result.leaseId;
      t.leaseToken = result.leaseId !== undefined ? token : undefined;
      if (result.leaseId !== undefined && result.leaseDuration > 0) {
        t.leaseTtl = result.leaseDuration;
        // read under a token replaced meanwhile: its lease dies with that token, read again now
        if (token !== this.o.tokens.current()) this.request(t, 'read', 0);
        else this.request(t, result.renewable ? 'renew' : 'read', renewAt(result.leaseDuration));
      } else {
        this.request(t, 'read', jittered(this.o.refreshMs, 0.1, this.random));
      }
    } catch (e) {
      if (this.stopped) return;
      const failure = classifyFailure(e);
      store.fail(t.name, failure);
      metrics?.secretRefreshes.inc({ outcome: 'failure' });
      const entry = store.get(t.name);
      const stale = (entry?.stale ?? false) && servesStale(failure);
      if (stale) metrics?.stale.set({ secret: t.name }, 1);
      metrics?.secretFailed(t.name, failure.code);
      const hadValue = entry?.data !== undefined;
      let delay: number | undefined;
      if (failure.code === 'invalid_secret_path') {
        t.halted = true;
        t.next = undefined;
      } else if (failure.permanent) {
        delay = jittered(this.o.refreshMs, 0.1, this.random);
      } else {
        delay = Math.max(
          100,
          fullJitter(
            { baseMs: this.o.retryBaseMs ?? 1000, capMs: Math.min(30_000, this.o.refreshMs) },
            t.failures,
            this.random,
          ),
        );
      }
      t.failures++;
      // what the log says is what the API does: stale serving covers an unreachable Vault only
      const [event, message] = stale
        ? [wasStale ? 'refresh_failed' : 'secret_stale', 'cannot refresh secret; serving the last value as stale']
        : hadValue
          ? ['secret_withdrawn', 'cannot refresh secret; the last value is no longer served']
          : ['refresh_failed', 'cannot read secret'];
      const fields = {
        event,
        secretName: t.name,
        path: t.path,
        code: failure.code,
        err: failure.message,
        ...(delay !== undefined ? { retryInMs: delay } : { retry: false }),
      };
      if (failure.permanent)
        log.error(fields, `${message}${delay === undefined ? '; not retried (fix the declaration)' : ''}`);
      else log.warn(fields, message);
      if (delay !== undefined) this.request(t, 'read', delay);
    }
  }

  private async renewLease(t: Tracked): Promise<void> {
    const { vault, tokens, store, log, metrics } = this.o;
    const asked = t.leaseTtl;
    try {
      const token = await tokens.token();
      const res = await vault.request<{ lease_duration?: number; renewable?: boolean }>(
        'lease_renew',
        'PUT',
        'sys/leases/renew',
        {
          token,
          body: { lease_id: t.leaseId, increment: asked },
        },
      );
      const got = res.body?.lease_duration ?? 0;
      store.setLeaseDuration(t.name, got);
      metrics?.leaseRenewals.inc({ outcome: got < asked ? 'capped' : 'success' });
      if (got < asked || got <= 0) {
        // cannot be extended further: fetch new credentials now, while these still work (what is left of
        // the lease is already less than one renewal period)
        log.info(
          { event: 'lease_capped', secretName: t.name, ttlSeconds: got },
          'lease reaches its max TTL; reading new credentials',
        );
        this.request(t, 'read', 0);
      } else {
        log.debug({ event: 'lease_renewed', secretName: t.name, ttlSeconds: got }, 'lease renewed');
        // a renewal never replaces a read asked for meanwhile (mergePlan), e.g. after a new login
        this.request(t, 'renew', renewAt(got));
      }
    } catch (e) {
      metrics?.leaseRenewals.inc({ outcome: 'failure' });
      log.warn(
        { event: 'lease_renew_failed', secretName: t.name, err: (e as Error).message },
        'lease renewal failed; reading the secret again',
      );
      await this.read(t);
    }
  }

  private async readFromVault(t: Tracked): Promise<{ result: ReadResult; token: string; target: ReadTarget }> {
    const { tokens } = this.o;
    for (let attempt = 0; ; attempt++) {
      const token = await tokens.token();
      try {
        // only a successful lookup is kept: a failed one is asked again on the next read
        t.mount ??= await this.lookupMount(t.path, token);
        const target = readTargetFor(t.path, t.mount);
        const res = await this.o.vault.request('read', 'GET', target.apiPath, { token });
        return { result: parseRead(target.kind, res.body), token, target };
      } catch (e) {
        // A 403 on a token that worked may mean the token died: let the token manager decide, then retry once.
        if (attempt === 0 && e instanceof VaultError && e.status === 403 && (await tokens.handleForbidden(token)))
          continue;
        throw e;
      }
    }
  }

  /**
   * The mount a path lives on, or undefined when Vault did not say (404 from a very old server, an answer
   * that is not mount info): then the path is read as written this time, and the lookup is asked again
   * on the next read rather than remembered as "no mount".
   */
  private async lookupMount(path: string, token: string): Promise<MountInfo | undefined> {
    try {
      const res = await this.o.vault.request('mounts', 'GET', `sys/internal/ui/mounts/${path}`, { token });
      const info = parseMountInfo(res.body);
      if (info === undefined)
        this.o.log.warn(
          { event: 'mount_lookup_failed', path, err: 'not mount info' },
          'Vault answered the mount lookup with something else; reading the path as written',
        );
      return info;
    } catch (e) {
      if (e instanceof VaultError && e.status === 404) return undefined;
      throw e;
    }
  }
}

function renewAt(ttlSeconds: number): number {
  return Math.max(500, Math.floor((ttlSeconds * 1000 * 2) / 3));
}
