/** Prometheus metrics on the webhook's own Registry (sidecar/metrics-registry.ts: small, same exposition as prom-client). */
import { X509Certificate } from 'node:crypto';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from '../sidecar/metrics-registry.js';

export interface WebhookMetrics {
  registry: Registry;
  admissions: Counter<'outcome'>;
  admissionSeconds: Histogram<'outcome'>;
  tlsReloads: Counter<'result'>;
  serviceAccountLookups: Counter<'result'>;
  tlsNotAfter: Gauge;
}

/** the event-loop-lag sampler once a second rather than every 10 ms (prom-client's default): an idle webhook sleeps */
export const EVENT_LOOP_SAMPLE_MS = 1000;

export function createMetrics(opts: { defaultMetrics?: boolean } = {}): WebhookMetrics {
  const registry = new Registry();
  if (opts.defaultMetrics !== false)
    collectDefaultMetrics({
      register: registry,
      prefix: 'vault_irsa_webhook_',
      eventLoopMonitoringPrecision: EVENT_LOOP_SAMPLE_MS,
    });
  const metrics: WebhookMetrics = {
    registry,
    admissions: new Counter({
      name: 'vault_irsa_webhook_admissions_total',
      help: 'AdmissionReviews answered, by outcome (injected, skipped, denied, invalid, error)',
      labelNames: ['outcome'],
      registers: [registry],
    }),
    admissionSeconds: new Histogram({
      name: 'vault_irsa_webhook_admission_duration_seconds',
      help: 'Time from request body received to AdmissionReview answer, by outcome',
      labelNames: ['outcome'],
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers: [registry],
    }),
    tlsReloads: new Counter({
      name: 'vault_irsa_webhook_tls_reloads_total',
      help: 'Serving certificate reloads, by result (ok, error)',
      labelNames: ['result'],
      registers: [registry],
    }),
    serviceAccountLookups: new Counter({
      name: 'vault_irsa_webhook_serviceaccount_lookups_total',
      help: 'ServiceAccount lookups, by result (cache, api, not_found, error)',
      labelNames: ['result'],
      registers: [registry],
    }),
    tlsNotAfter: new Gauge({
      name: 'vault_irsa_webhook_tls_certificate_not_after_timestamp_seconds',
      help: 'Expiry (notAfter) of the serving certificate in use, as a Unix timestamp',
      registers: [registry],
    }),
  };
  // every outcome exported at 0 from the start, so rate() and the alerts count the first error or denial too
  for (const outcome of ADMISSION_OUTCOMES) metrics.admissions.inc({ outcome }, 0);
  for (const result of ['cache', 'api', 'not_found', 'error']) metrics.serviceAccountLookups.inc({ result }, 0);
  return metrics;
}

const ADMISSION_OUTCOMES = ['injected', 'skipped', 'denied', 'invalid', 'error'] as const;

/** The first certificate of a PEM chain (the leaf, the one clients check) → its notAfter in seconds. Pure. */
export function certificateNotAfterSeconds(pem: Buffer | string): number | undefined {
  try {
    const ms = Date.parse(new X509Certificate(pem).validTo);
    return Number.isNaN(ms) ? undefined : ms / 1000;
  } catch {
    return undefined;
  }
}

/** Records the serving certificate now in use; called at start and after each reload. */
export function observeCertificate(metrics: WebhookMetrics, pem: Buffer | string): void {
  const notAfter = certificateNotAfterSeconds(pem);
  if (notAfter !== undefined) metrics.tlsNotAfter.set(notAfter);
}
