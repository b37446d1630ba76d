/**
 * TLS mode `auto`, the I/O: the webhook keeps its CA and serving certificate in one Secret of its namespace and
 * writes the CA bundle into its own MutatingWebhookConfiguration. Replicas coordinate through resourceVersion
 * alone (no leader election): every write carries the resourceVersion it read, so of two replicas writing at
 * once one gets 409 Conflict, re-reads, and adopts what the other wrote. The webhook configuration is read
 * before the Secret and written with its resourceVersion, so a bundle computed from an older Secret can never
 * replace a newer one. Decisions live in tls-auto-state.ts.
 */
import { X509Certificate } from 'node:crypto';
import type { KubeRequest, KubeResponse } from './kube-rest.js';
import { TlsError, type TlsPair } from './tls.js';
import {
  bundleOf,
  encodeState,
  parseState,
  step,
  type AutoTlsPolicy,
  type AutoTlsState,
  type Generation,
  type MakeGeneration,
  type StepReason,
} from './tls-auto-state.js';
import { makeCertificate } from './x509.js';

export interface AutoTlsOptions {
  request: KubeRequest;
  namespace: string;
  secretName: string;
  webhookConfigurationName: string;
  policy: AutoTlsPolicy;
  /** how often each replica re-reads the Secret and checks the bundle */
  intervalMs: number;
  apply: (pair: TlsPair) => void;
  onEvent?: (event: { level: 'info' | 'warn'; message: string; reasons?: StepReason[] }) => void;
  now?: () => Date;
  make?: MakeGeneration;
}

/** A fresh CA and a serving certificate for `dnsNames`, both valid from an hour ago (clock skew between nodes). */
export function generationMaker(dnsNames: string[], validityMs: number): MakeGeneration {
  return (now) => {
    const notBefore = new Date(now.getTime() - 3_600_000);
    const notAfter = new Date(now.getTime() + validityMs);
    const commonName = dnsNames.find((n) => n.endsWith('.svc')) ?? dnsNames[0] ?? 'vault-irsa';
    const ca = makeCertificate({ commonName: `${commonName} CA ${now.toISOString()}`, notBefore, notAfter });
    const serving = makeCertificate({ commonName, notBefore, notAfter, issuer: ca, dnsNames });
    return { ca: ca.cert, cert: serving.cert, key: serving.key };
  };
}

const MAX_CONFLICTS = 8;
const b64 = (s: string): string => Buffer.from(s, 'utf8').toString('base64');

class Conflict extends Error {}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

export class AutoTls {
  private current: Generation | undefined;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<StepReason[]> | undefined;
  private readonly now: () => Date;
  private readonly make: MakeGeneration;
  private lastError: string | undefined;

  constructor(private readonly opts: AutoTlsOptions) {
    this.now = opts.now ?? (() => new Date());
    this.make = opts.make ?? generationMaker(opts.policy.dnsNames, opts.policy.validityMs);
  }

  private get secretPath(): string {
    return `/api/v1/namespaces/${encodeURIComponent(this.opts.namespace)}/secrets/${encodeURIComponent(this.opts.secretName)}`;
  }

  private get webhookPath(): string {
    return `/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations/${encodeURIComponent(this.opts.webhookConfigurationName)}`;
  }

  private get secretRef(): string {
    return `Secret ${this.opts.namespace}/${this.opts.secretName}`;
  }

  private get webhookRef(): string {
    return `MutatingWebhookConfiguration ${this.opts.webhookConfigurationName}`;
  }

  /** One line naming the object, the verb and what to grant; never the response body (it may echo data). */
  private failure(verb: string, what: string, r: KubeResponse): TlsError {
    const base = `tls mode auto: cannot ${verb} ${what}: HTTP ${r.status}`;
    if (r.status === 403) {
      const grant =
        verb === 'create'
          ? `create it (empty) beforehand, as the chart and install.yaml do, or grant create on secrets in namespace ${this.opts.namespace}`
          : `the webhook's ServiceAccount needs get and update on it`;
      return new TlsError(`${base} (forbidden); ${grant}`);
    }
    if (r.status === 404)
      return new TlsError(`${base} (not found); create it first (the chart and install.yaml ship it)`);
    return new TlsError(base);
  }

  private async call(method: 'GET' | 'POST' | 'PUT', path: string, body?: unknown): Promise<KubeResponse> {
    try {
      return await this.opts.request(method, path, body);
    } catch (err) {
      throw new TlsError(
        `tls mode auto: cannot reach the Kubernetes API (${method} ${path}): ${(err as Error).message}`,
      );
    }
  }

  /** Reads, decides, writes (retrying on conflicts), applies. Resolves to what changed in the Secret. */
  reconcile(): Promise<StepReason[]> {
    this.running ??= this.doReconcile().finally(() => {
      this.running = undefined;
    });
    return this.running;
  }

  private async doReconcile(): Promise<StepReason[]> {
    for (let attempt = 0; attempt < MAX_CONFLICTS; attempt += 1) {
      try {
        return await this.once();
      } catch (err) {
        if (!(err instanceof Conflict)) throw err;
      }
    }
    throw new TlsError(
      `tls mode auto: gave up after ${MAX_CONFLICTS} write conflicts on ${this.secretRef} or ${this.webhookRef}`,
    );
  }

  private async once(): Promise<StepReason[]> {
    const hookRes = await this.call('GET', this.webhookPath);
    if (hookRes.status !== 200 || !isObj(hookRes.body)) throw this.failure('get', this.webhookRef, hookRes);
    const hookObj = hookRes.body;
    const webhooks = Array.isArray(hookObj.webhooks) ? (hookObj.webhooks as unknown[]).filter(isObj) : [];
    if (webhooks.length === 0)
      throw new TlsError(`tls mode auto: ${this.webhookRef} has no webhooks to put the CA bundle in`);
    const bundles = webhooks.map((w) =>
      isObj(w.clientConfig) && typeof w.clientConfig.caBundle === 'string' ? w.clientConfig.caBundle : '',
    );
    // promotion needs every webhook of the configuration to trust the next CA; unequal bundles count as none
    const published =
      bundles.every((b) => b === bundles[0]) && bundles[0]
        ? Buffer.from(bundles[0], 'base64').toString('utf8')
        : undefined;

    const secretRes = await this.call('GET', this.secretPath);
    if (secretRes.status !== 200 && secretRes.status !== 404) throw this.failure('get', this.secretRef, secretRes);
    const secretObj = secretRes.status === 200 && isObj(secretRes.body) ? secretRes.body : undefined;
    const parsed = parseState(
      secretObj && isObj(secretObj.data) ? (secretObj.data as Record<string, string>) : undefined,
    );
    if (parsed !== undefined && 'invalid' in parsed)
      this.opts.onEvent?.({ level: 'warn', message: `${this.secretRef} ${parsed.invalid}; replacing it` });
    const { state, changed } = step(parsed, this.now(), this.opts.policy, published, this.make);

    if (changed.length > 0) await this.writeSecret(secretObj, state);

    const desired = b64(bundleOf(state));
    if (bundles.some((b) => b !== desired)) {
      const body = structuredClone(hookObj);
      for (const w of (body.webhooks as unknown[]).filter(isObj))
        w.clientConfig = { ...(isObj(w.clientConfig) ? w.clientConfig : {}), caBundle: desired };
      const r = await this.call('PUT', this.webhookPath, body);
      if (r.status === 409) throw new Conflict();
      if (r.status !== 200) throw this.failure('update', this.webhookRef, r);
      const restored = bundles.every((b) => b !== '') && changed.length === 0;
      this.opts.onEvent?.({
        level: restored ? 'warn' : 'info',
        message: restored
          ? `${this.webhookRef} caBundle had drifted; restored`
          : `${this.webhookRef} caBundle published`,
      });
    }

    if (changed.length > 0)
      this.opts.onEvent?.({ level: 'info', message: `${this.secretRef}: ${changed.join(', ')}`, reasons: changed });
    this.use(state);
    return changed;
  }

  private async writeSecret(existing: Obj | undefined, state: AutoTlsState): Promise<void> {
    const data = encodeState(state);
    if (existing) {
      // resourceVersion stays as read: the API server refuses the write if anyone wrote in between
      const r = await this.call('PUT', this.secretPath, { ...existing, data });
      if (r.status === 409) throw new Conflict();
      if (r.status !== 200) throw this.failure('update', this.secretRef, r);
      return;
    }
    const body = {
      apiVersion: 'v1',
      kind: 'Secret',
      type: 'Opaque',
      metadata: {
        name: this.opts.secretName,
        namespace: this.opts.namespace,
        labels: { 'app.kubernetes.io/part-of': 'vault-irsa' },
      },
      data,
    };
    const r = await this.call('POST', `/api/v1/namespaces/${encodeURIComponent(this.opts.namespace)}/secrets`, body);
    if (r.status === 409) throw new Conflict();
    if (r.status !== 201 && r.status !== 200) throw this.failure('create', this.secretRef, r);
  }

  private use(state: AutoTlsState): void {
    if (this.current && this.current.cert === state.active.cert && this.current.key === state.active.key) return;
    this.current = state.active;
    this.opts.apply({ cert: Buffer.from(state.active.cert), key: Buffer.from(state.active.key) });
  }

  /** The first reconcile; throws a TlsError naming what it could not do. */
  async start(): Promise<TlsPair> {
    await this.reconcile();
    const g = this.current as Generation;
    return { cert: Buffer.from(g.cert), key: Buffer.from(g.key) };
  }

  /** Re-checks every intervalMs; a failure is reported once and the current certificate kept. */
  startLoop(): void {
    this.timer = setInterval(() => {
      this.reconcile().then(
        () => {
          this.lastError = undefined;
        },
        (err: unknown) => {
          const message = (err as Error).message;
          if (message !== this.lastError)
            this.opts.onEvent?.({ level: 'warn', message: `${message}; keeping the current certificate` });
          this.lastError = message;
        },
      );
    }, this.opts.intervalMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await this.running?.catch(() => undefined);
  }

  /** Expiry of the certificate being served, for logs. */
  get servingNotAfter(): string | undefined {
    return this.current ? new X509Certificate(this.current.cert).validTo : undefined;
  }
}
