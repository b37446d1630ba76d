import { randomBytes } from 'node:crypto';
import { isDeepStrictEqual } from 'node:util';

/** Why a declared secret has no value to serve; `status` is what the API answers. */
export interface SecretFailure {
  code:
    | 'vault_permission_denied'
    | 'secret_not_found'
    | 'vault_unavailable'
    | 'invalid_secret_path'
    | 'secret_refused'
    | 'vault_bad_request'
    | 'vault_bad_response';
  status: 400 | 403 | 404 | 502 | 503;
  message: string;
  /** the same read will get the same answer: not retried with backoff (see secret-failure.ts) */
  permanent?: true;
}

/**
 * Whether the last value is still served (as stale) after this failure: only while Vault cannot be reached.
 * A secret Vault now refuses, no longer has, or answers wrongly for is not served.
 */
export function servesStale(failure: SecretFailure | undefined): boolean {
  return failure === undefined || failure.code === 'vault_unavailable';
}

export interface SecretValue {
  data: Record<string, unknown>;
  /** KV v2 version, else a counter of changes seen by this process */
  version: number;
  leaseDuration: number;
  /** where and how Vault answered the read, for the Vault-shaped view (sidecar/vault-view.ts) */
  vault?: VaultFacts;
}

/** The facts about a secret's Vault side that a Vault client sees in an answer; never a token. */
export interface VaultFacts {
  /** the path Vault was read at, e.g. "secret/data/my-app", "kv1/app", "database/creds/app" */
  apiPath: string;
  kind: 'kv1' | 'kv2' | 'other';
  /** the mount as sys/internal/ui/mounts named it; undefined when Vault did not say (a very old server) */
  mount: { path: string; type: string; kvVersion?: 1 | 2 } | undefined;
  /** the lease the sidecar holds (dynamic secrets) */
  leaseId: string | undefined;
  renewable: boolean;
  /** KV v2 data.metadata of the version held (created_time, deletion_time, destroyed, custom_metadata) */
  metadata: Record<string, unknown> | undefined;
}

export interface SecretEntry {
  readonly name: string;
  readonly path: string;
  data: Record<string, unknown> | undefined;
  version: number;
  updatedAt: string | undefined;
  leaseDuration: number;
  stale: boolean;
  /** ISO time of the first failed refresh of the value served as stale */
  staleSince: string | undefined;
  /** when leaseDuration was last set (ms since the epoch): what is left of a lease is counted from here */
  leaseSetAt: number;
  etag: string | undefined;
  failure: SecretFailure | undefined;
  /** set by each successful read; KV v2 metadata follows the data (it changes with the version) */
  vault: VaultFacts | undefined;
}

/**
 * Memory only. An app's read is a map lookup; long polls wait here, never on Vault. The ETag changes
 * only when the data does, and carries a per-process prefix so an ETag from a previous run never matches.
 */
export class SecretStore {
  private readonly entries = new Map<string, SecretEntry>();
  private readonly waiters = new Map<string, Set<() => void>>();
  private readonly boot = randomBytes(4).toString('hex');
  private revision = 0;
  private closed = false;

  constructor(
    secrets: ReadonlyArray<{ name: string; path: string }>,
    private readonly now: () => number = Date.now,
  ) {
    for (const s of secrets) {
      this.entries.set(s.name, {
        name: s.name,
        path: s.path,
        data: undefined,
        version: 0,
        updatedAt: undefined,
        leaseDuration: 0,
        stale: false,
        staleSince: undefined,
        leaseSetAt: 0,
        etag: undefined,
        failure: undefined,
        vault: undefined,
      });
    }
  }

  get(name: string): SecretEntry | undefined {
    return this.entries.get(name);
  }

  list(): SecretEntry[] {
    return [...this.entries.values()];
  }

  /** A successful read. Returns true when the data changed (and so the ETag). */
  update(name: string, value: SecretValue): boolean {
    const e = this.entries.get(name);
    if (!e) return false;
    const changed = e.data === undefined || !isDeepStrictEqual(e.data, value.data);
    e.failure = undefined;
    e.stale = false;
    e.staleSince = undefined;
    e.leaseDuration = value.leaseDuration;
    e.leaseSetAt = this.now();
    if (value.vault !== undefined) {
      // the version's metadata goes with the data it describes: kept as long as the data is
      e.vault = changed || e.vault === undefined ? value.vault : { ...value.vault, metadata: e.vault.metadata };
    }
    if (changed) {
      e.data = value.data;
      e.version = value.version > 0 ? value.version : e.version + 1;
      e.updatedAt = new Date(this.now()).toISOString();
      e.etag = `"${this.boot}-${++this.revision}"`;
      this.wake(name);
    }
    return changed;
  }

  /** A lease renewal: same data, new duration. */
  setLeaseDuration(name: string, seconds: number): void {
    const e = this.entries.get(name);
    if (!e) return;
    e.leaseDuration = seconds;
    e.leaseSetAt = this.now();
  }

  /** A failed read: a secret read before turns stale (served with stale: true); one never read keeps the reason. */
  fail(name: string, failure: SecretFailure): void {
    const e = this.entries.get(name);
    if (!e) return;
    e.failure = failure;
    if (e.data !== undefined && !e.stale) {
      e.stale = true;
      e.staleSince = new Date(this.now()).toISOString();
    }
  }

  /** Names and, with `detail`, Vault's reasons (which can name a path); never a value. */
  notReadyReasons(detail = true): string[] {
    const out: string[] = [];
    for (const e of this.entries.values()) {
      if (e.data !== undefined) continue;
      const why = e.failure ? (detail ? e.failure.message : e.failure.code) : 'not read yet';
      out.push(`secret "${e.name}": ${why}`);
    }
    return out;
  }

  /**
   * Resolves true when the secret's ETag differs from `etag` (now or later), false after `timeoutMs`, when
   * `signal` aborts (client gone) or when the store closes.
   */
  waitForChange(name: string, etag: string, timeoutMs: number, signal?: AbortSignal): Promise<boolean> {
    const e = this.entries.get(name);
    if (!e || e.etag !== etag) return Promise.resolve(true);
    if (this.closed || signal?.aborted) return Promise.resolve(false);
    return new Promise((resolve) => {
      let set = this.waiters.get(name);
      if (!set) this.waiters.set(name, (set = new Set()));
      const done = (changed: boolean): void => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        set?.delete(wake);
        resolve(changed);
      };
      const wake = (): void => done(!this.closed);
      const onAbort = (): void => done(false);
      const timer = setTimeout(() => done(false), timeoutMs);
      set.add(wake);
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  /** Releases every long poll (shutdown). */
  close(): void {
    this.closed = true;
    for (const name of this.waiters.keys()) this.wake(name);
  }

  private wake(name: string): void {
    const set = this.waiters.get(name);
    if (!set) return;
    for (const w of [...set]) w();
  }
}
