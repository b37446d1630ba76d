/**
 * ServiceAccounts for the IRSA fallback (eks.amazonaws.com/role-arn and friends), from a list/watch cache so
 * an admission does not wait on the API server; a miss (an account created a moment ago, or a cache still
 * syncing) costs one GET with a short timeout. Only annotations are kept from each object.
 *
 * The list/watch is the informer protocol, on node:http(s) (kube-rest.ts) rather than @kubernetes/client-node,
 * whose evaluation alone was megabytes of the webhook's idle memory:
 *  - list /api/v1/serviceaccounts in pages, then watch from the list's resourceVersion with
 *    allowWatchBookmarks and a timeoutSeconds, so the API server ends the watch and it is renewed;
 *  - a watch that ends is resumed from the last resourceVersion seen (an event's or a bookmark's);
 *  - 410 Gone (the resourceVersion is too old), an ERROR event or a line that is not an event: list again,
 *    since events may have been missed;
 *  - a failure is reported and retried after a delay that doubles up to 30 s and resets once a list or
 *    watch is answered.
 */
import type { ClientRequest, IncomingMessage } from 'node:http';
import { VaultIrsaError } from '../sidecar/contract/errors.js';
import type { ServiceAccountView } from './inject/aws-identity.js';
import type { KubeConfigLike, KubeConnection } from './kube-connection.js';
import { kubeOpen, readBody, toConnection } from './kube-rest.js';
import {
  LineSplitter,
  parseWatchLine,
  serviceAccountEntry,
  WatchLineError,
  type ServiceAccountEntry,
  type WatchEvent,
} from './kube-watch.js';

export type LookupResultLabel = 'cache' | 'api' | 'not_found' | 'error';

export interface ServiceAccountCacheOptions {
  /** the API server; a client-node KubeConfig (`kubeConfig`) is accepted instead */
  connection?: KubeConnection;
  kubeConfig?: KubeConfigLike;
  getTimeoutMs: number;
  onLookup?: (result: LookupResultLabel) => void;
  onInformerError?: (message: string) => void;
  /** first restart delay after the watch fails; doubles up to maxRestartDelayMs */
  restartDelayMs?: number;
  /** the restart delay's ceiling (default 30 s) */
  maxRestartDelayMs?: number;
  /**
   * how long a watch must have stayed open before the delay starts again from restartDelayMs, and how often a
   * 410 Gone may be answered with an immediate list (default 60 s); tests shorten it
   */
  healthyWatchMs?: number;
  /** the watch's timeoutSeconds: the API server ends it then, and it is renewed (default 300) */
  watchTimeoutSeconds?: number;
  /** items per list page (default 500) */
  listPageSize?: number;
}

export class KubeTimeoutError extends VaultIrsaError {
  constructor(message: string) {
    super('kube_timeout', message);
  }
}

/** An answer other than 200; `code` is what errorMessage reports (the body is never quoted). */
class KubeStatusError extends Error {
  constructor(readonly code: number) {
    super(`HTTP ${code}`);
  }
}

function errorMessage(err: unknown): string {
  if (err && typeof err === 'object') {
    const e = err as { code?: unknown; statusCode?: unknown; message?: unknown };
    const status = typeof e.code === 'number' ? e.code : typeof e.statusCode === 'number' ? e.statusCode : undefined;
    // a Status body may quote objects; the status code alone is enough and cannot leak
    if (status !== undefined) return `HTTP ${status}`;
    if (typeof e.message === 'string') return e.message.split('\n')[0] ?? 'error';
  }
  return String(err);
}

const LIST_PAGE_MAX_BYTES = 32 * 1024 * 1024;
const MAX_RESTART_DELAY = 30_000;
const HEALTHY_WATCH_MS = 60_000;

/** namespace → name → annotations */
type Objects = Map<string, Map<string, Record<string, string>>>;

function putEntry(objects: Objects, e: ServiceAccountEntry): void {
  let ns = objects.get(e.namespace);
  if (!ns) objects.set(e.namespace, (ns = new Map<string, Record<string, string>>()));
  ns.set(e.name, e.annotations);
}

export class ServiceAccountCache {
  private readonly conn: KubeConnection;
  private objects: Objects = new Map();
  private resourceVersion = '';
  private stopped = false;
  private restartTimer: NodeJS.Timeout | undefined;
  private restartDelay: number;
  private watchReq: ClientRequest | undefined;
  /** when the current watch opened (0: none open) */
  private watchOpenedAt = 0;
  /** when a 410 was last answered with an immediate list */
  private lastImmediateList = 0;
  /** bumped for every list/watch cycle, so a stale stream's late events and errors are ignored */
  private generation = 0;

  constructor(private readonly opts: ServiceAccountCacheOptions) {
    const c = opts.connection ?? opts.kubeConfig;
    if (!c) throw new Error('ServiceAccountCache needs a connection or a kubeConfig');
    this.conn = toConnection(c);
    this.restartDelay = this.firstDelay;
  }

  private get firstDelay(): number {
    return this.opts.restartDelayMs ?? 1000;
  }

  /** Starts the list/watch in the background; resolves once the first list is in (or failed). */
  async start(): Promise<void> {
    this.stopped = false;
    await this.cycle();
  }

  stop(): Promise<void> {
    this.stopped = true;
    this.generation += 1;
    if (this.restartTimer) clearTimeout(this.restartTimer);
    this.restartTimer = undefined;
    this.watchReq?.destroy();
    this.watchReq = undefined;
    return Promise.resolve();
  }

  /** how many ServiceAccounts are cached (tests, memory checks) */
  get size(): number {
    let n = 0;
    for (const m of this.objects.values()) n += m.size;
    return n;
  }

  /**
   * The delay starts again from the first only after a watch stayed open a while (as client-go's reflector
   * does): a 200 followed at once by a bad line, an ERROR event or the end would otherwise list the whole
   * cluster again every second, forever.
   */
  private watchEnded(): void {
    if (this.watchOpenedAt !== 0 && Date.now() - this.watchOpenedAt >= this.healthyMs)
      this.restartDelay = this.firstDelay;
    this.watchOpenedAt = 0;
  }

  private get healthyMs(): number {
    return this.opts.healthyWatchMs ?? HEALTHY_WATCH_MS;
  }

  /** A 410 (resourceVersion too old) is answered with a list at once, but not twice within healthyMs. */
  private listAtOnceAllowed(): boolean {
    const now = Date.now();
    if (now - this.lastImmediateList < this.healthyMs) return false;
    this.lastImmediateList = now;
    return true;
  }

  /** Abandons the current watch: its stream's late events and errors are ignored from here on. */
  private dropWatch(): void {
    this.watchEnded();
    this.generation += 1;
    this.watchReq?.destroy();
    this.watchReq = undefined;
  }

  private fail(gen: number, err: unknown, relist: boolean): void {
    if (gen !== this.generation || this.stopped) return;
    this.dropWatch();
    if (relist) this.resourceVersion = '';
    this.opts.onInformerError?.(errorMessage(err));
    this.scheduleRestart();
  }

  private scheduleRestart(): void {
    if (this.stopped || this.restartTimer) return;
    this.restartTimer = setTimeout(() => {
      this.restartTimer = undefined;
      if (!this.stopped) void this.cycle();
    }, this.restartDelay);
    this.restartTimer.unref();
    this.restartDelay = Math.min(this.restartDelay * 2, this.opts.maxRestartDelayMs ?? MAX_RESTART_DELAY);
  }

  /** List when there is no resourceVersion to resume from, then open the watch; failures are reported. */
  private async cycle(): Promise<void> {
    if (this.stopped) return;
    const gen = ++this.generation;
    const resuming = this.resourceVersion !== '';
    try {
      if (this.resourceVersion === '') await this.list(gen);
      if (gen !== this.generation || this.stopped) return;
      await this.watch(gen);
    } catch (err) {
      if ((err as { code?: unknown }).code === 410 && resuming && this.listAtOnceAllowed()) {
        // the resourceVersion is gone from the API server's window: list again, now
        this.resourceVersion = '';
        if (gen === this.generation && !this.stopped) void this.cycle();
        return;
      }
      // a 410 to a list is an expired continue token: list again from the start, after the delay
      this.fail(gen, err, (err as { code?: unknown }).code === 410);
    }
  }

  private async list(gen: number): Promise<void> {
    const next: Objects = new Map();
    let cont = '';
    let rv = '';
    const size = this.opts.listPageSize ?? 500;
    do {
      const q = new URLSearchParams({ limit: String(size) });
      if (cont) q.set('continue', cont);
      const { req, res } = await kubeOpen(this.conn, 'GET', `/api/v1/serviceaccounts?${q.toString()}`, {
        timeoutMs: 30_000,
      });
      if (res.statusCode !== 200) {
        res.resume();
        throw new KubeStatusError(res.statusCode ?? 0);
      }
      const body = await readBody(req, res, 'list ServiceAccounts', LIST_PAGE_MAX_BYTES);
      if (gen !== this.generation || this.stopped) return;
      const list = body as
        { metadata?: { resourceVersion?: unknown; continue?: unknown }; items?: unknown } | undefined;
      if (typeof list !== 'object' || list === null || !Array.isArray(list.items))
        throw new WatchLineError('list ServiceAccounts: the answer is not a list');
      for (const item of list.items) {
        putEntry(next, serviceAccountEntry(item, 'list ServiceAccounts'));
      }
      rv = typeof list.metadata?.resourceVersion === 'string' ? list.metadata.resourceVersion : '';
      cont = typeof list.metadata?.continue === 'string' ? list.metadata.continue : '';
    } while (cont !== '');
    this.objects = next;
    this.resourceVersion = rv;
  }

  private async watch(gen: number): Promise<void> {
    const timeoutSeconds = this.opts.watchTimeoutSeconds ?? 300;
    const q = new URLSearchParams({
      watch: 'true',
      allowWatchBookmarks: 'true',
      timeoutSeconds: String(timeoutSeconds),
    });
    if (this.resourceVersion) q.set('resourceVersion', this.resourceVersion);
    // no byte for longer than the server's own timeout plus a minute: the connection is dead
    const { req, res } = await kubeOpen(this.conn, 'GET', `/api/v1/serviceaccounts?${q.toString()}`, {
      timeoutMs: (timeoutSeconds + 60) * 1000,
    });
    if (gen !== this.generation || this.stopped) {
      req.destroy();
      return;
    }
    if (res.statusCode !== 200) {
      res.resume();
      throw new KubeStatusError(res.statusCode ?? 0);
    }
    this.watchReq = req;
    this.watchOpenedAt = Date.now();
    this.consume(gen, req, res);
  }

  private consume(gen: number, req: ClientRequest, res: IncomingMessage): void {
    const lines = new LineSplitter();
    const opened = Date.now();
    const onError = (err: unknown): void => this.fail(gen, err, false);
    req.on('error', onError);
    res.on('error', onError);
    res.on('data', (chunk: Buffer) => {
      if (gen !== this.generation) return;
      try {
        for (const line of lines.push(chunk)) {
          this.apply(parseWatchLine(line));
          if (gen !== this.generation) return;
        }
      } catch (err) {
        // a line that is not an event: what follows cannot be trusted to be complete, so list again
        this.fail(gen, err, true);
      }
    });
    res.on('end', () => {
      if (gen !== this.generation || this.stopped) return;
      this.watchReq = undefined;
      this.watchEnded();
      if (Date.now() - opened < 1000) {
        // a server ending watches at once would otherwise be asked again in a tight loop
        this.generation += 1;
        this.scheduleRestart();
      } else {
        void this.cycle();
      }
    });
  }

  private apply(ev: WatchEvent): void {
    switch (ev.type) {
      case 'ADDED':
      case 'MODIFIED':
        putEntry(this.objects, ev.object);
        break;
      case 'DELETED': {
        const ns = this.objects.get(ev.object.namespace);
        ns?.delete(ev.object.name);
        if (ns?.size === 0) this.objects.delete(ev.object.namespace);
        break;
      }
      case 'BOOKMARK':
        this.resourceVersion = ev.resourceVersion;
        return;
      case 'ERROR':
        // 410 Gone: the resourceVersion is too old. Anything else: report it. Either way list again, since
        // what was missed is unknown; the server ends the stream after an ERROR
        if (ev.code !== 410)
          this.opts.onInformerError?.(`watch ERROR event: ${ev.code !== undefined ? `HTTP ${ev.code}` : 'no code'}`);
        this.resourceVersion = '';
        this.dropWatch();
        if (ev.code === 410 && this.listAtOnceAllowed()) void this.cycle();
        else this.scheduleRestart();
        return;
    }
    if (ev.object.resourceVersion) this.resourceVersion = ev.object.resourceVersion;
  }

  /** Never throws: a failed or slow GET becomes `unavailable` with a short reason. */
  async lookup(namespace: string, name: string): Promise<ServiceAccountView> {
    const cached = this.objects.get(namespace)?.get(name);
    if (cached) {
      this.opts.onLookup?.('cache');
      return { status: 'found', annotations: { ...cached } };
    }
    let timer: NodeJS.Timeout | undefined;
    let req: ClientRequest | undefined;
    let settled = false;
    try {
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(
          () => reject(new KubeTimeoutError(`GET ServiceAccount timed out after ${this.opts.getTimeoutMs} ms`)),
          this.opts.getTimeoutMs,
        );
      });
      const get = (async () => {
        const path = `/api/v1/namespaces/${encodeURIComponent(namespace)}/serviceaccounts/${encodeURIComponent(name)}`;
        const opened = await kubeOpen(this.conn, 'GET', path, { timeoutMs: this.opts.getTimeoutMs + 1000 });
        req = opened.req;
        const status = opened.res.statusCode ?? 0;
        const body = await readBody(opened.req, opened.res, 'GET ServiceAccount');
        settled = true;
        if (status !== 200) throw new KubeStatusError(status);
        return serviceAccountEntry(body, 'GET ServiceAccount', false);
      })();
      get.catch(() => undefined); // the race's loser must not become an unhandled rejection
      const sa = await Promise.race([get, timeout]);
      this.opts.onLookup?.('api');
      return { status: 'found', annotations: { ...sa.annotations } };
    } catch (err) {
      if ((err as { code?: unknown }).code === 404) {
        this.opts.onLookup?.('not_found');
        return { status: 'not_found' };
      }
      this.opts.onLookup?.('error');
      return { status: 'unavailable', reason: errorMessage(err) };
    } finally {
      if (timer) clearTimeout(timer);
      // a GET that lost the race to the timer is abandoned, not left to finish
      if (!settled) req?.destroy();
    }
  }
}
