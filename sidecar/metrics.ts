import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from './metrics-registry.js';

/**
 * How often the event-loop-lag sampler wakes the process. prom-client's default, 10 ms, was a timer firing 100
 * times a second in a process that otherwise sleeps for minutes between refreshes: most of an idle sidecar's
 * CPU (measured 3-7 ms of CPU per second idle with it, under 1 with this). A blocked loop still shows: each
 * one-second sample records how late it fired. The metric names and types are unchanged.
 */
export const EVENT_LOOP_SAMPLE_MS = 1000;

export const SECRET_ERROR_CODES = ['vault_permission_denied', 'secret_not_found', 'vault_unavailable'] as const;

/**
 * The sidecar's own registry (sidecar/metrics-registry.ts; there is no global one). Labels are closed sets: an
 * operation name, an outcome or status code, a declared secret's name. Never a path, a value or a token.
 */
export class Metrics {
  readonly registry = new Registry();
  readonly logins = new Counter({
    name: 'vault_irsa_logins_total',
    help: 'Vault AWS IAM logins by outcome',
    labelNames: ['outcome'] as const,
    registers: [this.registry],
  });
  readonly tokenRenewals = new Counter({
    name: 'vault_irsa_token_renewals_total',
    help: 'Vault token renewals by outcome',
    labelNames: ['outcome'] as const,
    registers: [this.registry],
  });
  readonly leaseRenewals = new Counter({
    name: 'vault_irsa_lease_renewals_total',
    help: 'Dynamic secret lease renewals by outcome',
    labelNames: ['outcome'] as const,
    registers: [this.registry],
  });
  readonly vaultRequests = new Counter({
    name: 'vault_irsa_vault_requests_total',
    help: 'HTTP requests to Vault by operation and outcome (status code or "network")',
    labelNames: ['operation', 'outcome'] as const,
    registers: [this.registry],
  });
  readonly vaultLatency = new Histogram({
    name: 'vault_irsa_vault_request_duration_seconds',
    help: 'Latency of HTTP requests to Vault by operation and outcome (status code or "network")',
    labelNames: ['operation', 'outcome'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [this.registry],
  });
  readonly readsServed = new Counter({
    name: 'vault_irsa_secret_reads_total',
    help: 'Secret reads answered on the localhost API, by HTTP status',
    labelNames: ['status'] as const,
    registers: [this.registry],
  });
  readonly longPolls = new Gauge({
    name: 'vault_irsa_long_polls_waiting',
    help: 'Long polls (If-None-Match with ?wait=) waiting on the localhost API; capped, above the cap 503 too_many_waiters',
    registers: [this.registry],
  });
  readonly secretRefreshes = new Counter({
    name: 'vault_irsa_secret_refreshes_total',
    help: 'Background secret reads from Vault by outcome',
    labelNames: ['outcome'] as const,
    registers: [this.registry],
  });
  readonly stale = new Gauge({
    name: 'vault_irsa_secret_stale',
    help: '1 while a secret is served from its last good value because refreshing it fails',
    labelNames: ['secret'] as const,
    registers: [this.registry],
  });
  readonly lastRefresh = new Gauge({
    name: 'vault_irsa_secret_last_success_timestamp_seconds',
    help: 'When each secret was last read from Vault successfully',
    labelNames: ['secret'] as const,
    registers: [this.registry],
  });
  readonly secretError = new Gauge({
    name: 'vault_irsa_secret_error',
    help: "1 for the code of a secret's last failed read (vault_permission_denied, secret_not_found, vault_unavailable); 0 once a read works",
    labelNames: ['secret', 'code'] as const,
    registers: [this.registry],
  });
  readonly ready = new Gauge({
    name: 'vault_irsa_ready',
    help: '1 once every declared secret was read once',
    registers: [this.registry],
  });

  constructor(opts: { defaultMetrics?: boolean } = {}) {
    if (opts.defaultMetrics !== false)
      collectDefaultMetrics({
        register: this.registry,
        prefix: 'vault_irsa_',
        eventLoopMonitoringPrecision: EVENT_LOOP_SAMPLE_MS,
      });
    // Every outcome exported from the start at 0: increase() and rate() then count the first failure too,
    // and an alert or dashboard panel sees a series before anything went wrong.
    for (const outcome of ['success', 'failure']) {
      this.logins.inc({ outcome }, 0);
      this.secretRefreshes.inc({ outcome }, 0);
    }
    for (const outcome of ['success', 'failure', 'capped']) {
      this.tokenRenewals.inc({ outcome }, 0);
      this.leaseRenewals.inc({ outcome }, 0);
    }
  }

  observeVault(operation: string, outcome: string, seconds: number): void {
    this.vaultRequests.inc({ operation, outcome });
    this.vaultLatency.observe({ operation, outcome }, seconds);
  }

  /** One series per (secret, code), each 0 or 1, so an alert on a code never sees a series vanish and return. */
  secretFailed(secret: string, code: string | undefined): void {
    for (const c of SECRET_ERROR_CODES) this.secretError.set({ secret, code: c }, c === code ? 1 : 0);
  }
}
