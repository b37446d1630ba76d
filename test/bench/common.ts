/**
 * What both benchmarks share: child processes started and measured the same way (subject and floor alike),
 * RSS from /proc/<pid>/status, an autocannon phase with exact latencies, and the table and JSON output.
 * Loopback only; every phase is bounded.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';

/** The repository root (this file runs from dist/test/bench/). */
export const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
export const FLOOR_JS = join(ROOT, 'dist/test/bench/floor.cjs');
export const RESULTS_DIR = join(ROOT, 'test/bench/results');

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export function arg(name: string, fallback: string): string {
  const hit = process.argv.find((a) => a.startsWith(`--${name}=`));
  return hit ? hit.slice(name.length + 3) : (process.env[`BENCH_${name.toUpperCase().replace(/-/g, '_')}`] ?? fallback);
}

/**
 * The program under test and the load phases, from the command line (or BENCH_* env): `--entry=bundle` (what
 * the image runs, default), `dist`, or a path; connections, warm-up, phase length and rounds.
 */
export function benchOptions(program: 'vault-irsa-sidecar' | 'vault-irsa-webhook'): {
  script: string;
  connections: number;
  warmupSeconds: number;
  phaseSeconds: number;
  rounds: number;
} {
  const entries: Record<string, string> = {
    bundle: join(ROOT, `dist/bundle/${program}.${program === 'vault-irsa-sidecar' ? 'cjs' : 'mjs'}`),
    dist: join(ROOT, `dist/bin/${program}.js`),
  };
  const entry = arg('entry', 'bundle');
  const found = entries[entry] ?? (/\.[cm]?js$/.test(entry) ? entry : undefined);
  if (!found || !existsSync(found))
    throw new Error(`--entry=${entry}: ${found ?? 'unknown entry'} not found (npm run build)`);
  return {
    script: found,
    connections: Number(arg('connections', '50')),
    warmupSeconds: Number(arg('warmup', '3')),
    phaseSeconds: Number(arg('phase', '2')),
    rounds: Number(arg('rounds', '5')),
  };
}

/** VmRSS of a process in MB (MiB), from /proc/<pid>/status. */
export function rssMb(pid: number): number {
  const m = /^VmRSS:\s+(\d+)\s+kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (!m || m[1] === undefined) throw new Error(`no VmRSS for pid ${pid}`);
  return Number(m[1]) / 1024;
}

/**
 * Resident memory split by kind, MB (MiB), from /proc/<pid>/status: RssAnon is the process's private heap
 * and code it made (what a memory limit is mostly about), RssFile the mapped files (node's binary, shared
 * with every other node process on the node).
 */
export function rssBreakdownMb(pid: number): { rss: number; anon: number; file: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (field: string): number => {
    const m = new RegExp(`^${field}:\\s+(\\d+)\\s+kB`, 'm').exec(status);
    if (!m || m[1] === undefined) throw new Error(`no ${field} for pid ${pid}`);
    return Number(m[1]) / 1024;
  };
  return { rss: kb('VmRSS'), anon: kb('RssAnon'), file: kb('RssFile') };
}

/** rssBreakdownMb's median over `samples` readings `intervalMs` apart, per field. */
export async function idleRssBreakdown(
  pid: number,
  samples = 10,
  intervalMs = 100,
): Promise<{ rss: number; anon: number; file: number }> {
  const xs: Array<{ rss: number; anon: number; file: number }> = [];
  for (let i = 0; i < samples; i++) {
    xs.push(rssBreakdownMb(pid));
    await sleep(intervalMs);
  }
  return {
    rss: median(xs.map((x) => x.rss)),
    anon: median(xs.map((x) => x.anon)),
    file: median(xs.map((x) => x.file)),
  };
}

export function median(xs: number[]): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
}

/** Nearest-rank percentile of an ascending array. */
export function percentile(sorted: ArrayLike<number>, p: number): number {
  if (sorted.length === 0) return NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i] as number;
}

/** CPU time (user + system) a process has used, in ms, from /proc/<pid>/stat. */
export function cpuMs(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
  const ticks = Number(fields[11]) + Number(fields[12]);
  return (ticks * 1000) / 100; // USER_HZ is 100 on Linux
}

/** Idle RSS: after `settleMs` without traffic, the median of `samples` readings `intervalMs` apart. */
export async function idleRss(pid: number, settleMs = 3_000, samples = 10, intervalMs = 100): Promise<number> {
  await sleep(settleMs);
  const xs: number[] = [];
  for (let i = 0; i < samples; i++) {
    xs.push(rssMb(pid));
    await sleep(intervalMs);
  }
  return median(xs);
}

/** RSS readings every `intervalMs` until stopped. */
export function sampleRss(pid: number, intervalMs = 100): { stop(): number[] } {
  const xs: number[] = [rssMb(pid)];
  const t = setInterval(() => {
    try {
      xs.push(rssMb(pid));
    } catch {
      // the process ended; the caller notices
    }
  }, intervalMs);
  return {
    stop() {
      clearInterval(t);
      xs.push(rssMb(pid));
      return xs;
    },
  };
}

const running = new Set<ChildProcess>();
// an interrupted bench leaves no server behind
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    for (const p of running) p.kill('SIGKILL');
    process.exit(130);
  });
}
process.once('exit', () => {
  for (const p of running) p.kill('SIGKILL');
});

export interface Child {
  name: string;
  proc: ChildProcess;
  pid: number;
  logFile: string;
  /** performance.now() just before spawn */
  spawnedAt: number;
  exited: Promise<number | null>;
  log(): string;
  stop(): Promise<void>;
}

/**
 * Starts `node <script>` with only the given env (plus PATH), output to a log file rather than a pipe, so the
 * bench process never spends CPU reading a child's output and both children write the same way.
 * BENCH_CHILD_CPUS=<list> pins every child with taskset (pin the bench itself elsewhere, e.g.
 * `BENCH_CHILD_CPUS=1 taskset -c 0 node dist/test/bench/...`), for machines where that steadies the figures.
 */
export function startNode(
  name: string,
  script: string,
  env: Record<string, string>,
  dir: string,
  nodeArgs: string[] = [],
): Child {
  mkdirSync(dir, { recursive: true });
  const logFile = join(dir, `${name}.log`);
  const fd = openSync(logFile, 'a');
  const spawnedAt = performance.now();
  const pin = process.env.BENCH_CHILD_CPUS;
  const [cmd, args] = pin
    ? ['taskset', ['-c', pin, process.execPath, ...nodeArgs, script]]
    : [process.execPath, [...nodeArgs, script]];
  const proc = spawn(cmd, args, {
    cwd: dir,
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: dir, TMPDIR: dir, ...env },
    stdio: ['ignore', fd, fd],
  });
  closeSync(fd);
  if (proc.pid === undefined) throw new Error(`cannot start ${name}`);
  running.add(proc);
  const exited = new Promise<number | null>((resolve) =>
    proc.once('exit', (code) => {
      running.delete(proc);
      resolve(code);
    }),
  );
  let done = false;
  void exited.then(() => (done = true));
  return {
    name,
    proc,
    pid: proc.pid,
    logFile,
    spawnedAt,
    exited,
    log: () => readFileSync(logFile, 'utf8'),
    async stop() {
      if (done) return;
      proc.kill('SIGTERM');
      const t = setTimeout(() => proc.kill('SIGKILL'), 5_000);
      await exited;
      clearTimeout(t);
    },
  };
}

export interface Answer {
  status: number;
  headers: Record<string, string>;
  body: Buffer;
}

/** One request on a fresh connection; `tls` trusts the given CA. */
export function fetchOnce(
  url: string,
  opts: { method?: string; headers?: Record<string, string>; body?: Buffer; ca?: string; timeoutMs?: number } = {},
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const u = new URL(url);
    const req = (u.protocol === 'https:' ? httpsRequest : httpRequest)(
      u,
      {
        method: opts.method ?? 'GET',
        headers: opts.headers,
        agent: false,
        timeout: opts.timeoutMs ?? 5_000,
        ...(opts.ca ? { ca: opts.ca } : {}),
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const headers: Record<string, string> = {};
          for (const [k, v] of Object.entries(res.headers))
            if (v !== undefined) headers[k] = Array.isArray(v) ? v.join(', ') : v;
          resolve({ status: res.statusCode ?? 0, headers, body: Buffer.concat(chunks) });
        });
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error('timed out')));
    req.on('error', reject);
    req.end(opts.body);
  });
}

/** Polls `url` every `intervalMs` until it answers `status`; returns performance.now() at that answer. */
export async function waitForStatus(
  child: Child,
  url: string,
  status: number,
  opts: { ca?: string; timeoutMs?: number; intervalMs?: number } = {},
): Promise<number> {
  const deadline = performance.now() + (opts.timeoutMs ?? 20_000);
  let exitCode: number | null | undefined;
  void child.exited.then((c) => (exitCode = c));
  for (;;) {
    try {
      const r = await fetchOnce(url, { ...(opts.ca ? { ca: opts.ca } : {}), timeoutMs: 1_000 });
      if (r.status === status) return performance.now();
    } catch {
      // not listening yet
    }
    if (exitCode !== undefined)
      throw new Error(`${child.name} exited (${exitCode}) before ${url} answered ${status}:\n${child.log()}`);
    if (performance.now() > deadline)
      throw new Error(`${child.name}: ${url} did not answer ${status} in time:\n${child.log()}`);
    await sleep(opts.intervalMs ?? 5);
  }
}

/** The fixed response a floor answers with: the subject's own status, headers and body. */
export function floorSpec(a: Answer): string {
  const headers: Record<string, string> = {};
  // node:http adds these itself, as the subjects' servers (node:http underneath) do
  for (const [k, v] of Object.entries(a.headers))
    if (!['date', 'connection', 'keep-alive', 'content-length', 'transfer-encoding'].includes(k)) headers[k] = v;
  return JSON.stringify({ status: a.status, headers, body: a.body.toString('base64') });
}

export interface Phase {
  requests: number;
  seconds: number;
  perSec: number;
  /** exact latencies (ms) of every 2xx response, ascending */
  latencies: Float64Array;
  non2xx: number;
  errors: number;
  timeouts: number;
  rss: number[];
  /** CPU ms the server process used during the phase */
  cpuMs: number;
}

export interface LoadOptions {
  url: string;
  method?: 'GET' | 'POST';
  headers?: Record<string, string>;
  body?: Buffer;
  connections: number;
  seconds: number;
  pid: number;
}

/** One autocannon run: keep-alive connections, pipelining 1, every latency recorded (autocannon's own are whole ms). */
export function loadPhase(o: LoadOptions): Promise<Phase> {
  return new Promise((resolve, reject) => {
    let lat = new Float64Array(1 << 18);
    let n = 0;
    const rss = sampleRss(o.pid);
    const cpu0 = cpuMs(o.pid);
    const instance = autocannon(
      {
        url: o.url,
        method: o.method ?? 'GET',
        headers: o.headers ?? {},
        ...(o.body ? { body: o.body } : {}),
        connections: o.connections,
        pipelining: 1,
        duration: o.seconds,
        timeout: 10,
      },
      (err, result) => {
        const samples = rss.stop();
        const cpu = cpuMs(o.pid) - cpu0;
        if (err) return reject(err);
        const latencies = lat.slice(0, n).sort();
        const ok = result.requests.total - result.non2xx;
        resolve({
          requests: ok,
          seconds: result.duration,
          perSec: ok / result.duration,
          latencies,
          non2xx: result.non2xx,
          errors: result.errors,
          timeouts: result.timeouts,
          rss: samples,
          cpuMs: cpu,
        });
      },
    );
    instance.on('response', (_client: unknown, statusCode: number, _bytes: number, responseTime: number) => {
      if (statusCode < 200 || statusCode >= 300) return;
      if (n === lat.length) {
        const bigger = new Float64Array(lat.length * 2);
        bigger.set(lat);
        lat = bigger;
      }
      lat[n++] = responseTime;
    });
  });
}

export interface Measured {
  requests: number;
  seconds: number;
  perSec: number;
  p50Ms: number;
  p99Ms: number;
  p999Ms: number;
  maxMs: number;
  rssPeakMb: number;
  rssMedianMb: number;
  non2xx: number;
  errors: number;
  /** server CPU time per answered request, µs */
  cpuUsPerRequest: number;
}

/** Several phases of one program as one: requests over seconds, percentiles over every latency. */
export function combine(phases: Phase[]): Measured {
  const total = phases.reduce((s, p) => s + p.latencies.length, 0);
  const all = new Float64Array(total);
  let off = 0;
  for (const p of phases) {
    all.set(p.latencies, off);
    off += p.latencies.length;
  }
  all.sort();
  const requests = phases.reduce((s, p) => s + p.requests, 0);
  const seconds = phases.reduce((s, p) => s + p.seconds, 0);
  const rss = phases.flatMap((p) => p.rss);
  return {
    requests,
    seconds,
    perSec: requests / seconds,
    p50Ms: percentile(all, 50),
    p99Ms: percentile(all, 99),
    p999Ms: percentile(all, 99.9),
    maxMs: all.length ? (all[all.length - 1] as number) : NaN,
    rssPeakMb: Math.max(...rss),
    rssMedianMb: median(rss),
    non2xx: phases.reduce((s, p) => s + p.non2xx, 0),
    errors: phases.reduce((s, p) => s + p.errors + p.timeouts, 0),
    cpuUsPerRequest: (phases.reduce((s, p) => s + p.cpuMs, 0) * 1000) / requests,
  };
}

/** the second warm-up of each program (see rotate) */
const REWARM_SECONDS = 1;

/**
 * Programs measured in turn, the order reversed every round (ABBA for two: floor, subject, subject, floor, ...)
 * after a warm-up of each, so a slow drift of the shared machine falls on all of them equally.
 */
export async function rotate<K extends string>(
  programs: Record<K, Omit<LoadOptions, 'seconds' | 'connections'>>,
  o: {
    connections: number;
    warmupSeconds: number;
    phaseSeconds: number;
    rounds: number;
    onPhase?: (who: K, p: Phase) => void;
    onWarmup?: (who: K, p: Phase) => void;
  },
): Promise<Record<K, Measured>> {
  const names = Object.keys(programs) as K[];
  for (const who of names) {
    o.onWarmup?.(who, await loadPhase({ ...programs[who], connections: o.connections, seconds: o.warmupSeconds }));
    // The end of the first load closes its connections, and node's socket teardown then changes maps that its
    // optimised http and stream code depends on: V8 drops that code at once (seen with --trace-deopt, a few dozen
    // functions), and it is compiled again under the next load. Once per process, so a second, short warm-up on
    // new connections takes it, not the first measured phase (where it cost the webhook 60% more CPU a review).
    await loadPhase({ ...programs[who], connections: o.connections, seconds: REWARM_SECONDS });
  }
  const phases = Object.fromEntries(names.map((n) => [n, [] as Phase[]])) as Record<K, Phase[]>;
  for (let i = 0; i < o.rounds; i++) {
    for (const who of i % 2 === 0 ? names : [...names].reverse()) {
      const p = await loadPhase({ ...programs[who], connections: o.connections, seconds: o.phaseSeconds });
      o.onPhase?.(who, p);
      phases[who].push(p);
    }
  }
  return Object.fromEntries(names.map((n) => [n, combine(phases[n])])) as Record<K, Measured>;
}

/** rotate() for a subject and its floor. */
export function abba(
  subject: Omit<LoadOptions, 'seconds' | 'connections'>,
  floor: Omit<LoadOptions, 'seconds' | 'connections'>,
  o: Parameters<typeof rotate<'subject' | 'floor'>>[1],
): Promise<Record<'subject' | 'floor', Measured>> {
  return rotate({ floor, subject }, o);
}

export const round = (x: number, digits = 2): number => Math.round(x * 10 ** digits) / 10 ** digits;

export function printTable(title: string, rows: Array<[string, string, string, string]>): void {
  const head: [string, string, string, string] = ['', 'subject', 'floor', 'ratio / target'];
  const all = [head, ...rows];
  const w = [0, 1, 2, 3].map((i) => Math.max(...all.map((r) => r[i]?.length ?? 0)));
  const line = (r: string[]) => r.map((c, i) => (i === 0 ? c.padEnd(w[i] ?? 0) : c.padStart(w[i] ?? 0))).join('  ');
  console.log(`\n${title}`);
  console.log(line(head));
  console.log(w.map((n) => '-'.repeat(n)).join('  '));
  for (const r of rows) console.log(line(r));
}

export function writeResults(name: string, obj: unknown): string {
  mkdirSync(RESULTS_DIR, { recursive: true });
  const file = join(RESULTS_DIR, `${name}.json`);
  writeFileSync(file, `${JSON.stringify(obj, null, 2)}\n`);
  return file;
}

/** Where the figures came from: they are only comparable within one run on one machine. */
export function machine(): Record<string, unknown> {
  return {
    node: process.version,
    cpus: cpus().length,
    cpuModel: cpus()[0]?.model,
    loadavg1m: round(loadavg()[0] ?? 0),
    ...(process.env.BENCH_CHILD_CPUS ? { childCpus: process.env.BENCH_CHILD_CPUS } : {}),
  };
}

/**
 * Runs a benchmark's main: however it ends, the children are stopped, `cleanup` runs and the scratch directory
 * is removed, unless `keepScratch` (diagnosis with --subject-node-args, whose profiles land there).
 */
export async function runBench(
  main: () => Promise<void>,
  o: { children: Child[]; scratch: string; keepScratch: boolean; cleanup?: () => Promise<void> },
): Promise<void> {
  // an interrupted run leaves no scratch directory either (the children are stopped on exit above)
  process.once('exit', () => {
    if (!o.keepScratch) rmSync(o.scratch, { recursive: true, force: true });
  });
  try {
    await main();
  } finally {
    await Promise.all(o.children.map((c) => c.stop()));
    await o.cleanup?.();
    if (o.keepScratch) console.log(`kept ${o.scratch} (subject-node-args)`);
    else rmSync(o.scratch, { recursive: true, force: true });
  }
}

/**
 * The node flags the program's image runs with: the `ENV NODE_OPTIONS="..."` line of Dockerfile.<program>, the
 * one place they are written (it reaches both the ENTRYPOINT and the `vault-irsa-sidecar` launcher the webhook
 * names as the command). The benchmarks run the bundle with the same flags, so they measure what the image runs.
 */
/**
 * The environment the image sets for the program (`ENV NAME=value` lines of its Dockerfile's runtime stage,
 * NODE_OPTIONS aside: imageNodeArgs passes those as arguments), so a bench runs the program as the image does.
 */
export function imageEnv(program: 'sidecar' | 'webhook'): Record<string, string> {
  const text = readFileSync(join(ROOT, `Dockerfile.${program}`), 'utf8');
  const runtime = text.slice(text.lastIndexOf('\nFROM '));
  const env: Record<string, string> = {};
  for (const m of runtime.matchAll(/^ENV ([A-Z_][A-Z0-9_]*)=("[^"]*"|\S+)\s*$/gm)) {
    const [, name, raw] = m;
    if (name === undefined || raw === undefined || name === 'NODE_OPTIONS') continue;
    env[name] = raw.startsWith('"') ? raw.slice(1, -1) : raw;
  }
  return env;
}

export function imageNodeArgs(program: 'sidecar' | 'webhook'): string[] {
  const text = readFileSync(join(ROOT, `Dockerfile.${program}`), 'utf8');
  const m = /^ENV NODE_OPTIONS="([^"]*)"/m.exec(text);
  return m?.[1] ? m[1].split(/\s+/).filter(Boolean) : [];
}
