/**
 * ServiceAccounts for the IRSA fallback (eks.amazonaws.com/role-arn and friends), from an informer-backed
 * cache so an admission does not wait on the API server; a miss (an account created a moment ago, or a
 * cache still syncing) costs one GET with a short timeout. Only annotations are kept from each object.
 */
import {
  CoreV1Api,
  KubeConfig,
  makeInformer,
  type Informer,
  type ObjectCache,
  type V1ServiceAccount,
} from '@kubernetes/client-node';
import { VaultIrsaError } from '../sidecar/contract/errors.js';
import type { ServiceAccountView } from './inject/aws-identity.js';

export type LookupResultLabel = 'cache' | 'api' | 'not_found' | 'error';

export interface ServiceAccountCacheOptions {
  kubeConfig: KubeConfig;
  getTimeoutMs: number;
  onLookup?: (result: LookupResultLabel) => void;
  onInformerError?: (message: string) => void;
  /** first restart delay after the watch fails; doubles up to 30 s */
  restartDelayMs?: number;
}

export class KubeTimeoutError extends VaultIrsaError {
  constructor(message: string) {
    super('kube_timeout', message);
  }
}

function errorMessage(err: unknown): string {
  if (err && typeof err === 'object') {
    const e = err as { code?: unknown; statusCode?: unknown; message?: unknown };
    const status = typeof e.code === 'number' ? e.code : typeof e.statusCode === 'number' ? e.statusCode : undefined;
    // ApiException messages embed the response body; the status code alone is enough and cannot leak
    if (status !== undefined) return `HTTP ${status}`;
    if (typeof e.message === 'string') return e.message.split('\n')[0] ?? 'error';
  }
  return String(err);
}

export class ServiceAccountCache {
  private readonly api: CoreV1Api;
  private readonly informer: Informer<V1ServiceAccount> & ObjectCache<V1ServiceAccount>;
  private stopped = false;
  private restartTimer: NodeJS.Timeout | undefined;
  private restartDelay: number;

  constructor(private readonly opts: ServiceAccountCacheOptions) {
    this.api = opts.kubeConfig.makeApiClient(CoreV1Api);
    this.informer = makeInformer(opts.kubeConfig, '/api/v1/serviceaccounts', () =>
      this.api.listServiceAccountForAllNamespaces(),
    );
    this.restartDelay = opts.restartDelayMs ?? 1000;
    this.informer.on('error', (err) => {
      opts.onInformerError?.(errorMessage(err));
      this.scheduleRestart();
    });
    this.informer.on('connect', () => {
      this.restartDelay = opts.restartDelayMs ?? 1000;
    });
  }

  /** Starts the list/watch in the background; resolves once the first list is in (or failed). */
  async start(): Promise<void> {
    try {
      // a failed list comes through the error callback (which schedules the restart), not as a rejection
      await this.informer.start();
    } catch (err) {
      this.opts.onInformerError?.(errorMessage(err));
      this.scheduleRestart();
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.restartTimer) clearTimeout(this.restartTimer);
    await this.informer.stop();
  }

  private scheduleRestart(): void {
    if (this.stopped || this.restartTimer) return;
    this.restartTimer = setTimeout(() => {
      this.restartTimer = undefined;
      if (!this.stopped) void this.start();
    }, this.restartDelay);
    this.restartTimer.unref();
    this.restartDelay = Math.min(this.restartDelay * 2, 30_000);
  }

  /** Never throws: a failed or slow GET becomes `unavailable` with a short reason. */
  async lookup(namespace: string, name: string): Promise<ServiceAccountView> {
    const cached = this.informer.get(name, namespace);
    if (cached) {
      this.opts.onLookup?.('cache');
      return { status: 'found', annotations: { ...(cached.metadata?.annotations ?? {}) } };
    }
    let timer: NodeJS.Timeout | undefined;
    try {
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(
          () => reject(new KubeTimeoutError(`GET ServiceAccount timed out after ${this.opts.getTimeoutMs} ms`)),
          this.opts.getTimeoutMs,
        );
      });
      const sa = await Promise.race([this.api.readNamespacedServiceAccount({ name, namespace }), timeout]);
      this.opts.onLookup?.('api');
      return { status: 'found', annotations: { ...(sa.metadata?.annotations ?? {}) } };
    } catch (err) {
      if ((err as { code?: unknown }).code === 404) {
        this.opts.onLookup?.('not_found');
        return { status: 'not_found' };
      }
      this.opts.onLookup?.('error');
      return { status: 'unavailable', reason: errorMessage(err) };
    } finally {
      if (timer) clearTimeout(timer);
    }
  }
}
