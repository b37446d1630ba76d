/**
 * An idle sidecar (and webhook) must sleep: the only timer the metrics add is the event-loop-lag sampler, and
 * it must not fire every 10 ms (prom-client's default, 100 wake-ups a second, which was most of
 * an idle sidecar's CPU). Checked by what each registry asks monitorEventLoopDelay for, not by timing.
 */
import perfHooks from 'node:perf_hooks';
import { Metrics } from '../../../sidecar/metrics.js';
import { createMetrics } from '../../../webhook/metrics.js';

function resolutionsAsked(make: () => unknown): number[] {
  const real = perfHooks.monitorEventLoopDelay;
  const asked: number[] = [];
  (perfHooks as { monitorEventLoopDelay: typeof real }).monitorEventLoopDelay = (opts) => {
    asked.push(opts?.resolution ?? 10);
    return real(opts);
  };
  try {
    make();
  } finally {
    (perfHooks as { monitorEventLoopDelay: typeof real }).monitorEventLoopDelay = real;
  }
  return asked;
}

test.each([
  ['sidecar', () => new Metrics()],
  ['webhook', () => createMetrics()],
])('the %s samples event-loop lag at most once a second', (_name, make) => {
  const asked = resolutionsAsked(make);
  expect(asked.length).toBe(1);
  expect(asked[0]).toBeGreaterThanOrEqual(1000);
});
