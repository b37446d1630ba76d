import { fullJitter, jittered } from './backoff.js';
import { parseMountInfo, readTargetFor, type MountInfo, type ReadTarget } from './kv-path.js';
import type { Logger } from './logger.js';
import type { Metrics } from './metrics.js';
import type { SecretFailure, SecretStore } from './secret-store.js';
import type { TokenManager } from './token-manager.js';
import { VaultError, type VaultClient } from './vault-client.js';

export interface ReadResult {
  data: Record<string, unknown>;
  version: number;
  leaseId: string | undefined;
  leaseDuration: number;
  renewable: boolean;
}

/** A Vault answer → what the API says about a secret that could not be read. Pure. */
export function classifyFailure(e: unknown): SecretFailure {
  if (e instanceof VaultError) {
    const said = e.errors.length ? e.errors.join('; ') : '';
    if (e.status === 403) return { code: 'vault_permission_denied', status: 403, message: said || 'permission denied' };
    if (e.status === 404) return { code: 'secret_not_found', status: 404, message: said || 'Vault has no secret at this path' };
    return { code: 'vault_unavailable', status: 503, message: `Vault answered ${e.status}${said ? `: ${said}` : ''}` };
  }
  return { code: 'vault_unavailable', status: 503, message: (e as Error)?.message ?? 'Vault unavailable' };
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
    if (!d || d.data === null || typeof d.data !== 'object') {
      // a deleted or destroyed version: 404-like
      throw new VaultError('read', 404, ['the latest version of this secret is deleted or destroyed'], body);
    }
    const version = typeof d.metadata?.version === 'number' ? d.metadata.version : 0;
    return { data: d.data as Record<string, unknown>, version, leaseId: undefined, leaseDuration, renewable: false };
  }
  if (!b.data || typeof b.data !== 'object') throw new VaultError('read', 404, ['no data at this path'], body);
  return { data: b.data as Record<string, unknown>, version: 0, leaseId, leaseDuration, renewable: b.renewable === true };
}

interface Tracked {
  name: string;
  path: string;
  mount: MountInfo | null | undefined; // undefined: not looked up yet; null: no mount info (old server)
  timer: NodeJS.Timeout | undefined;
  failures: number;
  leaseId: string | undefined;
  leaseTtl: number;
  running: boolean;
  /** a read was asked for while one was running (e.g. a new token): do another right after */
  rerun: boolean;
}

export interface RefresherOptions {
  vault: VaultClient;
  tokens: TokenManager;
  store: SecretStore;
  refreshMs: number;
  log: Logger;
  metrics?: Metrics;
  random?: () => number;
  /** first retry delay after a failed read (default 1 s); the cap is min(30 s, refresh) */
  retryBaseMs?: number;
}

/**
 * Reads each declared secret once, then keeps it fresh: static secrets every `refreshMs` (±10 %),
 * leased secrets renewed at two thirds of their lease and read again when a lease can no longer be
 * extended. A failed read retries with backoff; the store serves the last value as stale meanwhile.
 */
export class Refresher {
  private readonly tracked = new Map<string, Tracked>();
  private stopped = false;
  private readonly random: () => number;

  constructor(private readonly o: RefresherOptions) {
    this.random = o.random ?? Math.random;
    for (const e of o.store.list()) {
      this.tracked.set(e.name, {
        name: e.name,
        path: e.path,
        mount: undefined,
        timer: undefined,
        failures: 0,
        leaseId: undefined,
        leaseTtl: 0,
        running: false,
        rerun: false,
      });
    }
    // Leases belong to the token that created them; after a new login read leased secrets again.
    o.tokens.onNewToken(() => {
      for (const t of this.tracked.values()) if (t.leaseId !== undefined) this.runSoon(t, 0);
    });
  }

  start(): void {
    for (const t of this.tracked.values()) this.runSoon(t, 0);
  }

  stop(): void {
    this.stopped = true;
    for (const t of this.tracked.values()) if (t.timer) clearTimeout(t.timer);
  }

  private runSoon(t: Tracked, delayMs: number, action: 'read' | 'renew' = 'read'): void {
    if (this.stopped) return;
    if (t.timer) clearTimeout(t.timer);
    t.timer = setTimeout(() => {
      t.timer = undefined;
      void this.run(t, action);
    }, delayMs);
    t.timer.unref();
  }

  private async run(t: Tracked, action: 'read' | 'renew'): Promise<void> {
    if (this.stopped) return;
    if (t.running) {
      if (action === 'read') t.rerun = true;
      return;
    }
    t.running = true;
    try {
      if (action === 'renew' && t.leaseId !== undefined) await this.renewLease(t);
      else await this.read(t);
    } finally {
      t.running = false;
    }
    if (t.rerun) {
      t.rerun = false;
      this.runSoon(t, 0);
    }
  }

  private async read(t: Tracked): Promise<void> {
    const { store, log, metrics } = this.o;
    const before = store.get(t.name);
    const wasStale = before?.stale ?? false;
    try {
      const result = await this.readFromVault(t);
      const changed = store.update(t.name, { data: result.data, version: result.version, leaseDuration: result.leaseDuration });
      metrics?.secretRefreshes.inc({ outcome: 'success' });
      metrics?.lastRefresh.set({ secret: t.name }, Date.now() / 1000);
      metrics?.stale.set({ secret: t.name }, 0);
      metrics?.secretFailed(t.name, undefined);
      if (t.failures > 0 || wasStale || changed) {
        log.info(
          { event: wasStale ? 'secret_fresh' : 'secret_read', secretName: t.name, changed, version: store.get(t.name)?.version },
          wasStale ? 'secret is fresh again' : changed ? 'secret read' : 'secret read again',
        );
      }
      t.failures = 0;
      t.leaseId = result.leaseId;
      if (result.leaseId !== undefined && result.leaseDuration > 0) {
        t.leaseTtl = result.leaseDuration;
        const delay = renewAt(result.leaseDuration);
        this.runSoon(t, delay, result.renewable ? 'renew' : 'read');
      } else {
        this.runSoon(t, jittered(this.o.refreshMs, 0.1, this.random));
      }
    } catch (e) {
      if (this.stopped) return;
      const failure = classifyFailure(e);
      store.fail(t.name, failure);
      metrics?.secretRefreshes.inc({ outcome: 'failure' });
      const stale = store.get(t.name)?.stale ?? false;
      if (stale) metrics?.stale.set({ secret: t.name }, 1);
      metrics?.secretFailed(t.name, failure.code);
      const delay = Math.max(
        100,
        fullJitter({ baseMs: this.o.retryBaseMs ?? 1000, capMs: Math.min(30_000, this.o.refreshMs) }, t.failures, this.random),
      );
      t.failures++;
      log.warn(
        { event: stale && !wasStale ? 'secret_stale' : 'refresh_failed', secretName: t.name, path: t.path, err: failure.message, retryInMs: delay },
        stale ? 'cannot refresh secret; serving the last value as stale' : 'cannot read secret',
      );
      this.runSoon(t, delay);
    }
  }

  private async renewLease(t: Tracked): Promise<void> {
    const { vault, tokens, store, log, metrics } = this.o;
    const asked = t.leaseTtl;
    try {
      const token = await tokens.token();
      const res = await vault.request<{ lease_duration?: number; renewable?: boolean }>('lease_renew', 'PUT', 'sys/leases/renew', {
        token,
        body: { lease_id: t.leaseId, increment: asked },
      });
      const got = res.body?.lease_duration ?? 0;
      store.setLeaseDuration(t.name, got);
      metrics?.leaseRenewals.inc({ outcome: got < asked ? 'capped' : 'success' });
      if (got < asked || got <= 0) {
        // cannot be extended further: fetch new credentials while these still work
        log.info({ event: 'lease_capped', secretName: t.name, ttlSeconds: got }, 'lease reaches its max TTL; will read new credentials');
        this.runSoon(t, renewAt(got), 'read');
      } else {
        log.debug({ event: 'lease_renewed', secretName: t.name, ttlSeconds: got }, 'lease renewed');
        this.runSoon(t, renewAt(got), 'renew');
      }
    } catch (e) {
      metrics?.leaseRenewals.inc({ outcome: 'failure' });
      log.warn({ event: 'lease_renew_failed', secretName: t.name, err: (e as Error).message }, 'lease renewal failed; reading the secret again');
      await this.read(t);
    }
  }

  private async readFromVault(t: Tracked): Promise<ReadResult> {
    const { tokens } = this.o;
    for (let attempt = 0; ; attempt++) {
      const token = await tokens.token();
      try {
        if (t.mount === undefined) t.mount = await this.lookupMount(t.path, token);
        const target = readTargetFor(t.path, t.mount ?? undefined);
        const res = await this.o.vault.request('read', 'GET', target.apiPath, { token });
        return parseRead(target.kind, res.body);
      } catch (e) {
        // A 403 on a token that worked may mean the token died: let the token manager decide, then retry once.
        if (attempt === 0 && e instanceof VaultError && e.status === 403 && (await tokens.handleForbidden(token))) continue;
        throw e;
      }
    }
  }

  private async lookupMount(path: string, token: string): Promise<MountInfo | null> {
    try {
      const res = await this.o.vault.request('mounts', 'GET', `sys/internal/ui/mounts/${path}`, { token });
      return parseMountInfo(res.body) ?? null;
    } catch (e) {
      if (e instanceof VaultError && e.status === 404) return null; // a very old server: read the path as written
      throw e;
    }
  }
}

function renewAt(ttlSeconds: number): number {
  return Math.max(500, Math.floor((ttlSeconds * 1000 * 2) / 3));
}
