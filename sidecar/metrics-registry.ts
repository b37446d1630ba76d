/**
 * A small Prometheus registry for both programs: Counter, Gauge and Histogram with labels, a Registry that
 * writes the text exposition format, and the default process/Node.js metrics. It replaces prom-client, whose
 * code, per-metric objects and default-metric state cost the sidecar about 0.7 MB of private memory idle
 * (measured against a bare node:http server, both bundled); this module does the part the programs use.
 *
 * The exposition is byte for byte what prom-client 15 writes for the same calls, because dashboards, alert
 * rules and people's scrapers were built against it: metric families in registration order, `# HELP` with `\`
 * and newlines escaped, series in first-seen order, labels in the order of the first labels object given (the
 * latest one for Gauge.set), a histogram's `le` first, `+Inf`, `-Inf` and `Nan` (sic), numbers as JavaScript
 * prints them, a blank line between families. test/unit/ops/metrics-exposition.test.ts holds that to
 * prom-client's captured output and, over random operations, to prom-client itself.
 *
 * Series are keyed the way prom-client keys them (`name:value,` per defined label, names sorted). That key can
 * merge two label sets whose values contain `,` and `:`; prom-client does the same, and every label value the
 * programs set is an outcome, a status code, an operation or a declared secret's name.
 */
import { readdirSync, readFileSync } from 'node:fs';
import perfHooks from 'node:perf_hooks';
import { getHeapSpaceStatistics } from 'node:v8';

export type LabelValue = string | number;
export type Labels<T extends string = string> = Partial<Record<T, LabelValue>>;

/** One sample as `get()` returns it (prom-client's MetricValue shape, which tests read). */
export interface Sample {
  value: number;
  labels: Record<string, LabelValue>;
  metricName?: string;
}

export interface MetricSnapshot {
  name: string;
  help: string;
  type: string;
  values: Sample[];
}

interface MetricConfig<T extends string> {
  name: string;
  help: string;
  labelNames?: readonly T[];
  registers?: Registry[];
  /** runs before each scrape and each get(); sets this metric's (and, for the defaults, its siblings') values */
  collect?: () => void;
}

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

const isObject = (v: unknown): v is object => typeof v === 'object' && v !== null;

/** A promise of f()'s result; one that rejects if f throws (a collect that fails), as an async function's would. */
function settle<R>(f: () => R): Promise<R> {
  try {
    return Promise.resolve(f());
  } catch (e) {
    return Promise.reject(e instanceof Error ? e : new Error(String(e)));
  }
}

function escapeString(s: string): string {
  return s.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
}

function formatValue(v: number): string {
  if (Number.isNaN(v)) return 'Nan';
  if (!Number.isFinite(v)) return v < 0 ? '-Inf' : '+Inf';
  return `${v}`;
}

/** `name="value",...` for every own entry of labels, in their order, skipping names in `except` */
function formatLabels(labels: Record<string, unknown>, except?: Record<string, unknown>): string {
  let out = '';
  for (const [name, value] of Object.entries(labels)) {
    if (except !== undefined && Object.prototype.hasOwnProperty.call(except, name)) continue;
    const text = typeof value === 'string' ? escapeString(value).replace(/"/g, '\\"') : String(value);
    out += `${out === '' ? '' : ','}${name}="${text}"`;
  }
  return out;
}

/** The series key: `name:value,` for each defined label, label names sorted (prom-client's hashObject). */
function seriesKey(sortedNames: readonly string[], labels: Record<string, LabelValue | undefined>): string {
  let key = '';
  for (const name of sortedNames) {
    const value = labels[name];
    if (value !== undefined) key += `${name}:${String(value)},`;
  }
  return key;
}

abstract class Metric<T extends string> {
  readonly name: string;
  readonly help: string;
  readonly labelNames: readonly T[];
  abstract readonly type: string;
  collect?: () => void;
  protected readonly sortedLabelNames: readonly string[];

  constructor(config: MetricConfig<T>) {
    if (!config.help) throw new Error('Missing mandatory help parameter');
    if (!config.name) throw new Error('Missing mandatory name parameter');
    if (!METRIC_NAME.test(config.name)) throw new Error(`Invalid metric name: ${config.name}`);
    const labelNames = config.labelNames ?? [];
    if (!labelNames.every((l) => LABEL_NAME.test(l))) throw new Error(`Invalid label name in ${config.name}`);
    this.name = config.name;
    this.help = config.help;
    this.labelNames = labelNames;
    this.sortedLabelNames = [...labelNames].sort();
    if (config.collect) this.collect = config.collect;
  }

  /** Registers after the subclass has set up its state, so a registry never sees a half-built metric. */
  protected register(registers: Registry[] | undefined): void {
    for (const r of registers ?? []) r.registerMetric(this);
  }

  protected validate(labels: object): void {
    for (const label in labels)
      if (!(this.labelNames as readonly string[]).includes(label))
        throw new Error(`Added label "${label}" is not included in initial labelset: [${this.labelNames.join(', ')}]`);
  }

  protected key(labels: object): string {
    return seriesKey(this.sortedLabelNames, labels as Record<string, LabelValue | undefined>);
  }

  /** The exposition lines of this family (HELP, TYPE, one per sample), without a trailing newline. */
  exposition(): string {
    this.collect?.();
    const name = escapeString(this.name);
    return `# HELP ${name} ${escapeString(this.help)}\n# TYPE ${name} ${this.type}${this.lines(name)}`;
  }

  get(): Promise<MetricSnapshot> {
    return settle(() => {
      this.collect?.();
      return { name: this.name, help: this.help, type: this.type, values: this.samples() };
    });
  }

  /** `\n`-prefixed sample lines */
  protected abstract lines(name: string): string;
  protected abstract samples(): Sample[];
  abstract reset(): void;
}

interface ValueSeries {
  value: number;
  labels: Record<string, LabelValue>;
}

abstract class ValueMetric<T extends string> extends Metric<T> {
  protected series = new Map<string, ValueSeries>();

  constructor(config: MetricConfig<T>) {
    super(config);
    this.reset();
  }

  reset(): void {
    this.series = new Map();
    if (this.labelNames.length === 0) this.series.set('', { value: 0, labels: {} });
  }

  protected add(labels: Record<string, LabelValue>, delta: number, key: string): void {
    const s = this.series.get(key);
    if (s) s.value += delta;
    else this.series.set(key, { value: delta, labels });
  }

  protected lines(name: string): string {
    let out = '';
    for (const s of this.series.values()) {
      const labels = formatLabels(s.labels);
      out += `\n${name}${labels === '' ? '' : `{${labels}}`} ${formatValue(s.value)}`;
    }
    return out;
  }

  protected samples(): Sample[] {
    return [...this.series.values()].map((s) => ({ value: s.value, labels: s.labels }));
  }
}

export class Counter<T extends string = string> extends ValueMetric<T> {
  readonly type = 'counter';

  constructor(config: MetricConfig<T>) {
    super(config);
    this.register(config.registers);
  }

  inc(labels?: Labels<T> | number, value?: number): void {
    let key = '';
    let l: Record<string, LabelValue>;
    if (isObject(labels)) {
      l = labels as Record<string, LabelValue>;
      key = this.key(l);
      this.validate(l);
    } else {
      value = labels;
      l = {};
    }
    // as prom-client: NaN passes this check (it is falsy) and makes the series NaN
    if (value && !Number.isFinite(value)) throw new TypeError(`Value is not a valid number: ${String(value)}`);
    if (value !== undefined && value < 0) throw new Error('It is not possible to decrease a counter');
    this.add(l, value ?? 1, key);
  }

  /**
   * A handle on one series (prom-client's `labels({...})`), for a hot path that always counts the same one: its
   * key is worked out once. Labels this counter does not have are refused at each inc(), as by prom-client.
   */
  labels(labels: Labels<T>): { inc: (value?: number) => void } {
    const l = labels as Record<string, LabelValue>;
    try {
      this.validate(l);
    } catch {
      return { inc: (value?: number) => this.inc(labels, value) };
    }
    const key = this.key(l);
    return {
      inc: (value?: number) => {
        if (value === undefined) this.add(l, 1, key);
        else this.inc(labels, value);
      },
    };
  }
}

export class Gauge<T extends string = string> extends ValueMetric<T> {
  readonly type = 'gauge';

  constructor(config: MetricConfig<T>) {
    super(config);
    this.register(config.registers);
  }

  set(labels: Labels<T> | number, value?: number): void {
    const [l, v] = isObject(labels) ? [labels as Record<string, LabelValue>, value] : [{}, labels];
    if (typeof v !== 'number') throw new TypeError(`Value is not a valid number: ${String(v)}`);
    this.validate(l);
    // a set replaces the series' labels object with this one, in place (prom-client's order and labels)
    this.series.set(this.key(l), { value: v, labels: l });
  }

  inc(labels?: Labels<T> | number, value?: number): void {
    this.delta(labels, value, 1);
  }

  dec(labels?: Labels<T> | number, value?: number): void {
    this.delta(labels, value, -1);
  }

  private delta(labels: Labels<T> | number | undefined, value: number | undefined, sign: 1 | -1): void {
    const [l, v] = isObject(labels) ? [labels as Record<string, LabelValue>, value] : [{}, labels];
    const d = v === undefined ? sign : sign * v;
    if (typeof d !== 'number') throw new TypeError(`Delta is not a valid number: ${String(d)}`);
    this.validate(l);
    this.add(l, d, this.key(l));
  }
}

interface HistogramSeries {
  labels: Record<string, LabelValue>;
  /** observations per bucket (not cumulative), in the order of `buckets` */
  counts: number[];
  sum: number;
  count: number;
}

const DEFAULT_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

export class Histogram<T extends string = string> extends Metric<T> {
  readonly type = 'histogram';
  readonly buckets: readonly number[];
  private series = new Map<string, HistogramSeries>();

  constructor(config: MetricConfig<T> & { buckets?: readonly number[] }) {
    super(config);
    if ((this.labelNames as readonly string[]).includes('le')) throw new Error('le is a reserved label keyword');
    const buckets = config.buckets ?? DEFAULT_BUCKETS;
    if (new Set(buckets).size !== buckets.length) throw new Error(`Duplicate bucket bound in ${config.name}`);
    this.buckets = [...buckets];
    this.reset();
    this.register(config.registers);
  }

  reset(): void {
    this.series = new Map();
    if (this.labelNames.length === 0) this.series.set('', this.fresh({}));
  }

  private fresh(labels: Record<string, LabelValue>): HistogramSeries {
    return { labels, counts: this.buckets.map(() => 0), sum: 0, count: 0 };
  }

  observe(labels: Labels<T> | number, value?: number): void {
    const [l, v] = isObject(labels) ? [labels as Record<string, LabelValue>, value] : [{}, labels];
    this.validate(l);
    if (typeof v !== 'number' || !Number.isFinite(v)) throw new TypeError(`Value is not a valid number: ${String(v)}`);
    const key = this.key(l);
    let s = this.series.get(key);
    if (!s) {
      s = this.fresh(l);
      this.series.set(key, s);
    }
    // the first bound, in the order given, that holds the value; above all of them only +Inf counts it
    const i = this.buckets.findIndex((b) => v <= b);
    s.sum += v;
    s.count += 1;
    if (i >= 0) s.counts[i] = (s.counts[i] ?? 0) + 1;
  }

  /** every sample as [suffix, own labels, the series' labels, value] */
  private *each(): Generator<[string, Record<string, LabelValue>, Record<string, LabelValue>, number]> {
    for (const s of this.series.values()) {
      let acc = 0;
      for (const [i, le] of this.buckets.entries()) {
        acc += s.counts[i] ?? 0;
        yield ['_bucket', { le }, s.labels, acc];
      }
      yield ['_bucket', { le: '+Inf' }, s.labels, s.count];
      yield ['_sum', {}, s.labels, s.sum];
      yield ['_count', {}, s.labels, s.count];
    }
  }

  protected lines(name: string): string {
    let out = '';
    // one series' labels formatted once for its 14 or so lines
    let last: Record<string, LabelValue> | undefined;
    let shared = '';
    for (const [suffix, own, labels, value] of this.each()) {
      if (labels !== last) {
        last = labels;
        shared = formatLabels(labels);
      }
      const parts = [formatLabels(own, labels), shared].filter((p) => p !== '');
      out += `\n${name}${suffix}${parts.length > 0 ? `{${parts.join(',')}}` : ''} ${formatValue(value)}`;
    }
    return out;
  }

  protected samples(): Sample[] {
    return [...this.each()].map(([suffix, own, labels, value]) => ({
      value,
      labels: { ...own, ...labels },
      metricName: `${this.name}${suffix}`,
    }));
  }
}

export class Registry {
  static readonly PROMETHEUS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';
  readonly contentType = Registry.PROMETHEUS_CONTENT_TYPE;
  private readonly byName = new Map<string, Metric<string>>();

  registerMetric(metric: Metric<string>): void {
    const known = this.byName.get(metric.name);
    if (known !== undefined && known !== metric)
      throw new Error(`A metric with the name ${metric.name} has already been registered.`);
    this.byName.set(metric.name, metric);
  }

  getSingleMetric(name: string): Metric<string> | undefined {
    return this.byName.get(name);
  }

  getMetricsAsArray(): Metric<string>[] {
    return [...this.byName.values()];
  }

  /** The text exposition of every metric, in registration order (each collected just before it is written). */
  metrics(): Promise<string> {
    return settle(() => {
      let out = '';
      for (const m of this.byName.values()) out += `${out === '' ? '' : '\n\n'}${m.exposition()}`;
      return `${out}\n`;
    });
  }
}

// ---- default metrics: the names, types, labels and HELP of prom-client 15's collectDefaultMetrics on Linux

/** Process start, rounded to the second, fixed when this module loads (as prom-client computes it). */
const START_SECONDS = Math.round(Date.now() / 1000 - process.uptime());

/** What each group of default metrics needs: the name prefix and the registry, as `registers`. */
interface Defaults {
  prefix: string;
  registers: Registry[];
}

function gauge(d: Defaults, name: string, help: string, collect?: () => void): Gauge {
  return new Gauge({ name: d.prefix + name, help, registers: d.registers, ...(collect ? { collect } : {}) });
}

/** CPU counted from when the metrics were created, as prom-client counts it. */
function cpuMetrics(d: Defaults): void {
  const counter = (name: string, help: string, collect?: () => void): Counter =>
    new Counter({ name: d.prefix + name, help, registers: d.registers, ...(collect ? { collect } : {}) });
  let last = process.cpuUsage();
  const user = counter('process_cpu_user_seconds_total', 'Total user CPU time spent in seconds.', () => {
    const now = process.cpuUsage();
    const u = now.user - last.user;
    const s = now.system - last.system;
    last = now;
    user.inc(u / 1e6);
    system.inc(s / 1e6);
    total.inc((u + s) / 1e6);
  });
  const system = counter('process_cpu_system_seconds_total', 'Total system CPU time spent in seconds.');
  const total = counter('process_cpu_seconds_total', 'Total user and system CPU time spent in seconds.');
}

function procStatusBytes(text: string, key: string): number | undefined {
  const m = new RegExp(`^${key}:\\s*(\\d+) kB$`, 'm').exec(text);
  return m ? Number(m[1]) * 1024 : undefined;
}

function maxOpenFiles(): number | undefined {
  try {
    const line = readFileSync('/proc/self/limits', 'utf8')
      .split('\n')
      .find((l) => l.startsWith('Max open files'));
    return line === undefined ? undefined : Number(line.split(/ {2,}/)[1]);
  } catch {
    return undefined;
  }
}

/** Start time, memory from /proc/self/status, open and maximum file descriptors. */
function processMetrics(d: Defaults): void {
  const startTime = gauge(
    d,
    'process_start_time_seconds',
    'Start time of the process since unix epoch in seconds.',
    () => startTime.set(START_SECONDS),
  );
  const resident = gauge(d, 'process_resident_memory_bytes', 'Resident memory size in bytes.', () => {
    try {
      const status = readFileSync('/proc/self/status', 'utf8');
      const rss = procStatusBytes(status, 'VmRSS');
      const size = procStatusBytes(status, 'VmSize');
      const data = procStatusBytes(status, 'VmData');
      if (rss !== undefined) resident.set(rss);
      if (size !== undefined) virtual.set(size);
      if (data !== undefined) heap.set(data);
    } catch {
      // no /proc: the gauges keep their last values
    }
  });
  const virtual = gauge(d, 'process_virtual_memory_bytes', 'Virtual memory size in bytes.');
  const heap = gauge(d, 'process_heap_bytes', 'Process heap size in bytes.');
  const openFds = gauge(d, 'process_open_fds', 'Number of open file descriptors.', () => {
    try {
      // minus the descriptor readdirSync itself had open
      openFds.set(readdirSync('/proc/self/fd').length - 1);
    } catch {
      // no /proc
    }
  });
  const maxFds = maxOpenFiles();
  if (maxFds !== undefined) {
    const g = gauge(d, 'process_max_fds', 'Maximum number of open file descriptors.', () => g.set(maxFds));
  }
}

/** The event-loop-delay histogram, sampled every `resolutionMs` (the one timer the metrics add). */
function eventLoopMetrics(d: Defaults, resolutionMs: number): void {
  // looked up on the module object at call time, so a test can see the resolution asked for
  const delay = perfHooks.monitorEventLoopDelay({ resolution: resolutionMs });
  delay.enable();
  const lag = gauge(d, 'nodejs_eventloop_lag_seconds', 'Lag of event loop in seconds.', () => {
    // the lag gauge shows the previous scrape's measurement, as prom-client's does
    const start = process.hrtime.bigint();
    setImmediate(() => lag.set(Number(process.hrtime.bigint() - start) / 1e9));
    min.set(delay.min / 1e9);
    max.set(delay.max / 1e9);
    mean.set(delay.mean / 1e9);
    stddev.set(delay.stddev / 1e9);
    p50.set(delay.percentile(50) / 1e9);
    p90.set(delay.percentile(90) / 1e9);
    p99.set(delay.percentile(99) / 1e9);
    delay.reset();
  });
  const min = gauge(d, 'nodejs_eventloop_lag_min_seconds', 'The minimum recorded event loop delay.');
  const max = gauge(d, 'nodejs_eventloop_lag_max_seconds', 'The maximum recorded event loop delay.');
  const mean = gauge(d, 'nodejs_eventloop_lag_mean_seconds', 'The mean of the recorded event loop delays.');
  const stddev = gauge(
    d,
    'nodejs_eventloop_lag_stddev_seconds',
    'The standard deviation of the recorded event loop delays.',
  );
  const p50 = gauge(d, 'nodejs_eventloop_lag_p50_seconds', 'The 50th percentile of the recorded event loop delays.');
  const p90 = gauge(d, 'nodejs_eventloop_lag_p90_seconds', 'The 90th percentile of the recorded event loop delays.');
  const p99 = gauge(d, 'nodejs_eventloop_lag_p99_seconds', 'The 99th percentile of the recorded event loop delays.');
}

/** Counts by name (active resources) or by constructor name (libuv handles and requests). */
function countBy<E>(list: readonly E[], name: (e: E) => string | undefined): Map<string, number> {
  const counts = new Map<string, number>();
  for (const e of list) {
    const n = name(e);
    if (n !== undefined) counts.set(n, (counts.get(n) ?? 0) + 1);
  }
  return counts;
}

const constructorName = (e: unknown): string | undefined =>
  isObject(e) && typeof e.constructor === 'function' ? e.constructor.name : undefined;

interface ProcessInternals {
  _getActiveHandles?: () => unknown[];
  _getActiveRequests?: () => unknown[];
}

/** nodejs_active_{resources,handles,requests} by type, and each one's total. */
function activeMetrics(d: Defaults): void {
  const group = <E>(
    name: string,
    help: string,
    totalHelp: string,
    list: () => readonly E[],
    by: (e: E) => string | undefined,
  ) => {
    const byType: Gauge<'type'> = new Gauge({
      name: d.prefix + name,
      help,
      labelNames: ['type'] as const,
      registers: d.registers,
      collect: () => {
        byType.reset();
        for (const [type, n] of countBy(list(), by)) byType.set({ type }, n);
      },
    });
    const total = gauge(d, `${name}_total`, totalHelp, () => total.set(list().length));
  };
  group(
    'nodejs_active_resources',
    'Number of active resources that are currently keeping the event loop alive, grouped by async resource type.',
    'Total number of active resources.',
    () => process.getActiveResourcesInfo(),
    (r) => r,
  );
  const internals = process as unknown as ProcessInternals;
  const handles = internals._getActiveHandles;
  if (typeof handles === 'function')
    group(
      'nodejs_active_handles',
      'Number of active libuv handles grouped by handle type. Every handle type is C++ class name.',
      'Total number of active handles.',
      () => handles.call(process),
      constructorName,
    );
  const requests = internals._getActiveRequests;
  if (typeof requests === 'function')
    group(
      'nodejs_active_requests',
      'Number of active libuv requests grouped by request type. Every request type is C++ class name.',
      'Total number of active requests.',
      () => requests.call(process),
      constructorName,
    );
}

/** The V8 heap as process.memoryUsage() and v8.getHeapSpaceStatistics() report it. */
function heapMetrics(d: Defaults): void {
  const total = gauge(d, 'nodejs_heap_size_total_bytes', 'Process heap size from Node.js in bytes.', () => {
    const m = process.memoryUsage();
    total.set(m.heapTotal);
    used.set(m.heapUsed);
    external.set(m.external);
  });
  const used = gauge(d, 'nodejs_heap_size_used_bytes', 'Process heap size used from Node.js in bytes.');
  const external = gauge(d, 'nodejs_external_memory_bytes', 'Node.js external memory size in bytes.');

  const space = (kind: string): Gauge<'space'> =>
    new Gauge({
      name: `${d.prefix}nodejs_heap_space_size_${kind}_bytes`,
      help: `Process heap space size ${kind} from Node.js in bytes.`,
      labelNames: ['space'] as const,
      registers: d.registers,
    });
  const spaceTotal = space('total');
  const spaceUsed = space('used');
  const spaceAvailable = space('available');
  spaceTotal.collect = () => {
    for (const s of getHeapSpaceStatistics()) {
      const name = s.space_name.slice(0, s.space_name.indexOf('_space'));
      spaceTotal.set({ space: name }, s.space_size);
      spaceUsed.set({ space: name }, s.space_used_size);
      spaceAvailable.set({ space: name }, s.space_available_size);
    }
  };
}

function versionMetric(d: Defaults): void {
  const [major, minor, patch] = process.version.slice(1).split('.').map(Number);
  const version: Gauge<'version' | 'major' | 'minor' | 'patch'> = new Gauge({
    name: `${d.prefix}nodejs_version_info`,
    help: 'Node.js version info.',
    labelNames: ['version', 'major', 'minor', 'patch'] as const,
    registers: d.registers,
    collect: () => version.set({ version: process.version, major, minor, patch }, 1),
  });
}

/** Garbage collections by kind, from a PerformanceObserver on 'gc' entries. */
function gcMetric(d: Defaults): void {
  const gc: Histogram<'kind'> = new Histogram({
    name: `${d.prefix}nodejs_gc_duration_seconds`,
    help: 'Garbage collection duration by kind, one of major, minor, incremental or weakcb.',
    labelNames: ['kind'] as const,
    buckets: [0.001, 0.01, 0.1, 1, 2, 5],
    registers: d.registers,
  });
  const c = perfHooks.constants;
  const kinds: Record<number, string> = {
    [c.NODE_PERFORMANCE_GC_MAJOR]: 'major',
    [c.NODE_PERFORMANCE_GC_MINOR]: 'minor',
    [c.NODE_PERFORMANCE_GC_INCREMENTAL]: 'incremental',
    [c.NODE_PERFORMANCE_GC_WEAKCB]: 'weakcb',
  };
  new perfHooks.PerformanceObserver((list) => {
    // one entry per callback is what prom-client records too
    const entry = list.getEntries()[0];
    if (entry === undefined) return;
    const kind = kinds[(entry as { detail?: { kind?: number } }).detail?.kind ?? -1];
    gc.observe(kind === undefined ? {} : { kind }, entry.duration / 1000);
  }).observe({ entryTypes: ['gc'] });
}

/**
 * Registers the default metrics on `register`, each name prefixed, in prom-client's order. The one timer is
 * the event-loop-delay histogram's sampler, every `eventLoopMonitoringPrecision` ms.
 */
export function collectDefaultMetrics(config: {
  register: Registry;
  prefix: string;
  eventLoopMonitoringPrecision: number;
}): void {
  const d: Defaults = { prefix: config.prefix, registers: [config.register] };
  cpuMetrics(d);
  processMetrics(d);
  eventLoopMetrics(d, config.eventLoopMonitoringPrecision);
  activeMetrics(d);
  heapMetrics(d);
  versionMetric(d);
  gcMetric(d);
}
