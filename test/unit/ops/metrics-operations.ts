/**
 * One fixed sequence of metric operations per program, the same calls the programs make (and a few they could:
 * odd label values, NaN and infinite gauges, observations on bucket bounds). test/fixtures/metrics/*.prom hold
 * what prom-client 15.1.3 exposed after exactly these calls, captured before the programs moved to their own
 * registry; metrics-exposition.test.ts replays them on today's registry and expects the same bytes.
 */
import type { Metrics } from '../../../sidecar/metrics.js';
import type { WebhookMetrics } from '../../../webhook/metrics.js';

/** a secret name no real declaration has, with everything the exposition format must escape */
export const ODD = 'we"ird\\name\nwith {braces}, commas=and: colons';

export function sidecarOperations(m: Metrics): void {
  m.logins.inc({ outcome: 'success' });
  m.logins.inc({ outcome: 'failure' });
  m.logins.inc({ outcome: 'success' }, 2);
  m.tokenRenewals.inc({ outcome: 'success' });
  m.leaseRenewals.inc({ outcome: 'capped' }, 0.5);
  for (const [op, outcome, s] of [
    ['login', '200', 0.0123],
    ['read', '200', 0.005],
    ['read', '200', 0],
    ['read', '403', 10],
    ['read', 'network', 11],
    ['renew-self', '200', 1e-9],
    ['read', '200', 2.5000001],
  ] as const)
    m.observeVault(op, outcome, s);
  const served200 = m.readsServed.labels({ status: '200' });
  served200.inc();
  served200.inc();
  m.readsServed.inc({ status: '404' });
  m.readsServed.inc({ status: '503' }, 3);
  m.longPolls.set(3);
  m.longPolls.set(1);
  m.secretRefreshes.inc({ outcome: 'success' }, 7);
  m.lastRefresh.set({ secret: 'db' }, 1764633600.123);
  m.stale.set({ secret: 'db' }, 0);
  m.secretFailed('db', undefined);
  m.lastRefresh.set({ secret: 'config' }, 1764633601);
  m.stale.set({ secret: 'config' }, 1);
  m.secretFailed('config', 'vault_unavailable');
  m.stale.set({ secret: ODD }, 1);
  m.secretFailed(ODD, 'secret_not_found');
  m.lastRefresh.set({ secret: 'nan' }, NaN);
  m.lastRefresh.set({ secret: 'inf' }, Infinity);
  m.lastRefresh.set({ secret: '-inf' }, -Infinity);
  m.lastRefresh.set({ secret: 'big' }, 1e21);
  m.lastRefresh.set({ secret: 'small' }, -1.5e-7);
  m.ready.set(1);
}

export function webhookOperations(m: WebhookMetrics): void {
  for (const [outcome, s] of [
    ['injected', 0.0004],
    ['injected', 0.0005],
    ['skipped', 0.002],
    ['denied', 3],
    ['error', 0.75],
  ] as const) {
    m.admissions.inc({ outcome });
    m.admissionSeconds.observe({ outcome }, s);
  }
  m.tlsReloads.inc({ result: 'ok' });
  m.tlsReloads.inc({ result: 'error' });
  m.serviceAccountLookups.inc({ result: 'cache' });
  m.serviceAccountLookups.inc({ result: 'api' }, 4);
  m.tlsNotAfter.set(1767225599);
}
