/**
 * The programs' /metrics text stays what prom-client wrote before they moved to sidecar/metrics-registry.ts:
 * byte for byte for the same calls (the fixtures, captured with prom-client 15.1.3 from the same operations),
 * the same default-metric families (values differ by nature), and, over random operation sequences with
 * label values that need escaping, the same bytes as prom-client itself (a devDependency for this test only).
 */
import fc from 'fast-check';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as prom from 'prom-client';
import * as ours from '../../../sidecar/metrics-registry.js';
import { Metrics } from '../../../sidecar/metrics.js';
import { createMetrics } from '../../../webhook/metrics.js';
import { sidecarOperations, webhookOperations } from './metrics-operations.js';

const fixtures = join(import.meta.dirname, '../../fixtures/metrics');
const fixture = (name: string): string => readFileSync(join(fixtures, name), 'utf8');

describe('the exposition of the programs’ own metrics, against prom-client’s captured output', () => {
  test('sidecar: the same bytes after the same operations', async () => {
    const m = new Metrics({ defaultMetrics: false });
    sidecarOperations(m);
    expect(await m.registry.metrics()).toBe(fixture('sidecar.prom'));
  });

  test('webhook: the same bytes after the same operations', async () => {
    const m = createMetrics({ defaultMetrics: false });
    webhookOperations(m);
    expect(await m.registry.metrics()).toBe(fixture('webhook.prom'));
  });

  test('the same content type', () => {
    const contentType = fixture('content-type.txt').trim();
    expect(new Metrics({ defaultMetrics: false }).registry.contentType).toBe(contentType);
    expect(createMetrics({ defaultMetrics: false }).registry.contentType).toBe(contentType);
  });
});

/** family → its HELP and TYPE lines; sample name → the label-name lists its samples carry */
function shape(text: string): { heads: string[]; labels: Map<string, Set<string>> } {
  const heads: string[] = [];
  const labels = new Map<string, Set<string>>();
  for (const line of text.split('\n')) {
    if (line.startsWith('#')) heads.push(line);
    else if (line !== '') {
      const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? \S+$/.exec(line);
      if (!m) throw new Error(`not an exposition line: ${line}`);
      const names = [...(m[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="(?:[^"\\]|\\.)*"/g)].map((x) => x[1]);
      const set = labels.get(m[1] as string) ?? new Set<string>();
      set.add(names.join(','));
      labels.set(m[1] as string, set);
    }
  }
  return { heads, labels };
}

describe('default metrics: prom-client’s names, types, HELP and labels (on Linux, Node 20)', () => {
  test.each([
    ['sidecar', () => new Metrics().registry, 'sidecar-defaults.prom'],
    ['webhook', () => createMetrics().registry, 'webhook-defaults.prom'],
  ])('%s', async (_name, make, file) => {
    const registry = make();
    // a collection for the GC histogram to show, and a first scrape, as the fixture was taken
    global.gc?.();
    await new Promise((r) => setTimeout(r, 50));
    await registry.metrics();
    await new Promise((r) => setTimeout(r, 50));
    const now = shape(await registry.metrics());
    const then = shape(fixture(file));
    expect(now.heads).toEqual(then.heads);
    for (const [name, labelLists] of then.labels) {
      // which libuv handle types, resources and GC kinds exist differs from process to process; their label names do not
      if (
        /_nodejs_(active_(handles|requests|resources)|gc_duration_seconds_(bucket|sum|count))$/.test(name) &&
        !now.labels.has(name)
      )
        continue;
      expect([name, now.labels.get(name)]).toEqual([name, labelLists]);
    }
    for (const name of now.labels.keys())
      expect([name, then.labels.has(name) || /_nodejs_active_/.test(name)]).toEqual([name, true]);
  });
});

// ---- the same random operations on prom-client and on ours: the same text, the same refusals

const LABELS = ['b', 'a'] as const;
const BUCKETS = [0.1, 1, 2.5, 10];

interface Pair<P, O> {
  prom: P;
  ours: O;
}

function registries() {
  const p = new prom.Registry();
  const o = new ours.Registry();
  const both = <P, O>(P: new (c: never) => P, O: new (c: never) => O, config: object): Pair<P, O> => ({
    prom: new P({ ...config, registers: [p] } as never),
    ours: new O({ ...config, registers: [o] } as never),
  });
  return {
    p,
    o,
    counter: both(prom.Counter, ours.Counter, {
      name: 'c_total',
      help: 'a counter\\with "help"\nlines',
      labelNames: LABELS,
    }),
    plainCounter: both(prom.Counter, ours.Counter, { name: 'plain_total', help: 'no labels' }),
    gauge: both(prom.Gauge, ours.Gauge, { name: 'g', help: 'a gauge', labelNames: LABELS }),
    plainGauge: both(prom.Gauge, ours.Gauge, { name: 'plain_g', help: 'no labels' }),
    histogram: both(prom.Histogram, ours.Histogram, {
      name: 'h_seconds',
      help: 'h',
      labelNames: LABELS,
      buckets: BUCKETS,
    }),
    plainHistogram: both(prom.Histogram, ours.Histogram, { name: 'plain_h', help: 'h', buckets: BUCKETS }),
  };
}

type R = ReturnType<typeof registries>;
type Target = 'counter' | 'plainCounter' | 'gauge' | 'plainGauge' | 'histogram' | 'plainHistogram';
type LabelSet = Partial<Record<'a' | 'b', string>>;
interface Op {
  target: Target;
  method: 'inc' | 'dec' | 'set' | 'observe' | 'labels';
  labels: [string, string][] | undefined;
  value: number | undefined;
}

/** label values with what the format escapes, and the characters prom-client's series key is made of */
const labelValue = fc.oneof(
  fc.constantFrom('x', 'y', '', '"', '\\', '\n', 'a:b,', 'a\\"b\nc', '{}', '=', 'é✓'),
  fc.string({ unit: fc.constantFrom('a', 'b', '"', '\\', '\n', ',', ':', '=', ' ', 'é') }),
);
/** labels in either order, either one absent: the exposition prints them in the order given */
const labels = fc.option(
  fc.uniqueArray(fc.tuple(fc.constantFrom('a', 'b'), labelValue), { selector: ([k]) => k, maxLength: 2 }),
  { nil: undefined },
);
const value = fc.option(
  fc.oneof(
    fc.double(),
    fc.constantFrom(0, 1, 0.1, 2.5, 10, 10.000001, 1e21, -1, Number.NaN, Number.POSITIVE_INFINITY),
    fc.integer({ min: -5, max: 1000 }),
  ),
  { nil: undefined },
);
const op: fc.Arbitrary<Op> = fc.oneof(
  fc.record({
    target: fc.constantFrom<Target>('counter', 'plainCounter'),
    method: fc.constantFrom('inc' as const, 'labels' as const),
    labels,
    value,
  }),
  fc.record({
    target: fc.constantFrom<Target>('gauge', 'plainGauge'),
    method: fc.constantFrom('set' as const, 'inc' as const, 'dec' as const),
    labels,
    value,
  }),
  fc.record({
    target: fc.constantFrom<Target>('histogram', 'plainHistogram'),
    method: fc.constant('observe' as const),
    labels,
    value,
  }),
);

/** Calls one operation on one side with a fresh labels object (as the programs do); true if it threw. */
function apply(metric: unknown, o: Op): boolean {
  const l: LabelSet | undefined = o.labels && Object.fromEntries(o.labels);
  const args = l === undefined ? [o.value] : [l, o.value];
  try {
    // labels(): a handle on one series, counted through twice (the sidecar's served-200 counter)
    if (o.method === 'labels') {
      const handle = (metric as { labels: (l: LabelSet) => { inc: (v?: number) => void } }).labels(l ?? {});
      handle.inc(o.value);
      handle.inc();
    } else (metric as Record<string, (...a: unknown[]) => void>)[o.method]?.(...args);
    return false;
  } catch {
    return true;
  }
}

test('random operations: the same text as prom-client, and the same operations refused', async () => {
  await fc.assert(
    fc.asyncProperty(fc.array(op, { maxLength: 40 }), async (ops) => {
      const r: R = registries();
      for (const o of ops) {
        const pair = r[o.target];
        expect([o, apply(pair.ours, o)]).toEqual([o, apply(pair.prom, o)]);
      }
      expect(await r.o.metrics()).toBe(await r.p.metrics());
    }),
    {
      numRuns: 300,
      examples: [
        // two label sets prom-client files under one series (its key is `name:value,` per label): so do we
        [
          [
            { target: 'counter', method: 'inc', labels: [['a', '1,b:2']], value: 1 },
            {
              target: 'counter',
              method: 'inc',
              labels: [
                ['a', '1'],
                ['b', '2'],
              ],
              value: 1,
            },
            {
              target: 'gauge',
              method: 'set',
              labels: [
                ['b', '2'],
                ['a', '1'],
              ],
              value: 1,
            },
            { target: 'gauge', method: 'set', labels: [['a', '1,b:2']], value: 2 },
            { target: 'histogram', method: 'observe', labels: [['a', '1,b:2']], value: 1 },
            {
              target: 'histogram',
              method: 'observe',
              labels: [
                ['a', '1'],
                ['b', '2'],
              ],
              value: 3,
            },
          ],
        ],
      ],
    },
  );
});

test('get() reads a metric as prom-client’s does (tests read gauges and counters through it)', async () => {
  const r = registries();
  for (const side of ['prom', 'ours'] as const) {
    r.gauge[side].set({ a: 'x', b: 'y' }, 2);
    r.counter[side].inc({ b: 'z' }, 3);
  }
  const strip = (s: { name: string; help: string; type: unknown; values: { value: number; labels: object }[] }) => ({
    name: s.name,
    help: s.help,
    type: s.type,
    values: s.values.map((v) => ({ value: v.value, labels: v.labels })),
  });
  expect(strip(await r.gauge.ours.get())).toEqual(strip(await r.gauge.prom.get()));
  expect(strip(await r.counter.ours.get())).toEqual(strip(await r.counter.prom.get()));
});

test('a collect that throws makes metrics() and get() reject, never throw at the caller (health.ts answers 500)', async () => {
  const registry = new ours.Registry();
  const broken = new ours.Gauge({
    name: 'broken',
    help: 'its collect fails',
    registers: [registry],
    collect: () => {
      throw new Error('no /proc');
    },
  });
  let scrape: Promise<string> | undefined;
  expect(() => (scrape = registry.metrics())).not.toThrow();
  await expect(scrape).rejects.toThrow('no /proc');
  let read: Promise<unknown> | undefined;
  expect(() => (read = broken.get())).not.toThrow();
  await expect(read).rejects.toThrow('no /proc');
});
