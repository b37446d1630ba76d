/**
 * `npm run bench:soak`: does the sidecar's private memory creep while it works hard for a long time? One sidecar
 * (the bundle, with the image's node flags and env) against the local stand-ins, with a Vault token TTL of 2 s and a max
 * TTL of 4 s (so it renews and logs in again all the time), secrets refreshed every second, and reads running
 * at a fixed modest rate on loopback. RssAnon (/proc/<pid>/status) is sampled every few seconds throughout.
 *
 * The figure: RssAnon after the first minute vs at the end, each read with reads paused, after `settle` seconds
 * (20) and then two full garbage collections (a SIGUSR2 to the diagnosis preload test/bench/gc-on-signal.ts,
 * run with --expose-gc; nothing else in the sidecar changes). Without the forced collection the reading depends
 * on where in V8's GC sawtooth it falls, and with a login every 4 s and a refresh every second the sidecar never
 * goes idle long enough for the memory reducer: one run read 13.3 MB settled at the first minute and 22.3 MB
 * three minutes later, then 13.1 MB after the next major GC, with nothing retained in between. Both readings,
 * settled and after the collection, are reported; the target is judged on the second (retained memory). The
 * sawtooth's height under reads is reported too. The load resumes after the first reading.
 * Writes test/bench/results/soak.json. Bounded: --minutes=10 (default), loopback only.
 *
 * Options (--name=value or BENCH_NAME): entry=bundle|dist|<file>, minutes=10, rate=200 (reads/s), sample=5 (s),
 * settle=20 (s).
 */
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Agent, request } from 'node:http';
import { freePorts } from '../../stand-ins/ports.js';
import { startStack, type StackExt } from '../../stand-ins/stack.js';
import {
  arg,
  benchOptions,
  idleRssBreakdown,
  imageEnv,
  imageNodeArgs,
  machine,
  rssBreakdownMb,
  round,
  runBench,
  sleep,
  startNode,
  waitForStatus,
  writeResults,
  type Child,
} from './common.js';

const { script } = benchOptions('vault-irsa-sidecar');
const minutes = Number(arg('minutes', '10'));
const rate = Number(arg('rate', '200'));
const sampleMs = Number(arg('sample', '5')) * 1000;
const settleMs = Number(arg('settle', '20')) * 1000;
const nodeArgs = imageNodeArgs('sidecar');
const GC_PRELOAD = join(dirname(fileURLToPath(import.meta.url)), 'gc-on-signal.js');
const TARGET_GROWTH_MB = 1;

const children: Child[] = [];
let stack: StackExt | undefined;
const scratch = mkdtempSync(join(tmpdir(), 'vault-irsa-bench-soak-'));

/** Reads at `rate` per second over a few keep-alive connections until `stop`; counts answers by status. */
function readLoop(url: string, token: string, stop: AbortSignal): Promise<Record<string, number>> {
  const agent = new Agent({ keepAlive: true, maxSockets: 4 });
  const counts: Record<string, number> = {};
  const one = (): Promise<void> =>
    new Promise((resolve) => {
      const req = request(url, { agent, headers: { authorization: `Bearer ${token}` }, timeout: 5_000 }, (res) => {
        res.resume();
        res.on('end', () => {
          counts[String(res.statusCode)] = (counts[String(res.statusCode)] ?? 0) + 1;
          resolve();
        });
      });
      req.on('timeout', () => req.destroy(new Error('timed out')));
      req.on('error', () => {
        counts.error = (counts.error ?? 0) + 1;
        resolve();
      });
      req.end();
    });
  return (async () => {
    const tickMs = 100;
    const perTick = Math.max(1, Math.round((rate * tickMs) / 1000));
    while (!stop.aborted) {
      const t0 = Date.now();
      await Promise.all(Array.from({ length: perTick }, one));
      await sleep(Math.max(0, tickMs - (Date.now() - t0)));
    }
    agent.destroy();
    return counts;
  })();
}

async function main(): Promise<void> {
  stack = await startStack({ tokenTtlSeconds: 2, tokenMaxTtlSeconds: 4 });
  const [apiPort, healthPort] = await freePorts(2);
  const env = stack.sidecarEnv({
    VAULT_IRSA_SECRETS: JSON.stringify({ db: 'secret/my-app', config: 'kv1/app' }),
    VAULT_IRSA_LISTEN: `127.0.0.1:${apiPort}`,
    VAULT_IRSA_HEALTH_LISTEN: `127.0.0.1:${healthPort}`,
    VAULT_IRSA_REFRESH: '1s',
  });
  console.log(
    `soak: ${script} ${nodeArgs.join(' ')}, ${minutes} min, token TTL 2 s / max 4 s, refresh 1 s, ${rate} reads/s`,
  );
  const child = startNode('sidecar', script, { ...imageEnv('sidecar'), ...env }, scratch, [
    ...nodeArgs,
    '--expose-gc',
    `--import=${GC_PRELOAD}`,
  ]);
  children.push(child);
  await waitForStatus(child, `http://127.0.0.1:${healthPort}/readyz`, 200);
  const token = readFileSync(stack.requestTokenFile, 'utf8');
  const loginsBefore = stack.vault.requests.length;

  const started = Date.now();
  const samples: Array<{ s: number; anon: number; rss: number; reads: boolean }> = [];
  const counts: Record<string, number> = {};
  /** reads running for `seconds`, RssAnon sampled meanwhile */
  const loadFor = async (seconds: number): Promise<void> => {
    const stop = new AbortController();
    const reads = readLoop(`http://127.0.0.1:${apiPort}/v1/secrets/db`, token, stop.signal);
    const until = Date.now() + seconds * 1000;
    while (Date.now() < until) {
      await sleep(Math.min(sampleMs, until - Date.now()));
      const k = rssBreakdownMb(child.pid);
      const s = Math.round((Date.now() - started) / 1000);
      samples.push({ s, anon: round(k.anon, 2), rss: round(k.rss, 2), reads: true });
      if (samples.length % 12 === 0)
        console.log(`  ${s}s RssAnon ${k.anon.toFixed(1)} MB, VmRSS ${k.rss.toFixed(1)} MB`);
    }
    stop.abort();
    for (const [k, v] of Object.entries(await reads)) counts[k] = (counts[k] ?? 0) + v;
  };
  /** RssAnon with reads paused: settled, then after two full collections */
  const settled = async (): Promise<{ settled: number; afterGc: number }> => {
    await sleep(settleMs);
    const before = (await idleRssBreakdown(child.pid, 10, 200)).anon;
    process.kill(child.pid, 'SIGUSR2');
    await sleep(1_000);
    return { settled: before, afterGc: (await idleRssBreakdown(child.pid, 10, 200)).anon };
  };
  await loadFor(60);
  const first = await settled();
  console.log(
    `  after the first minute: RssAnon ${first.settled.toFixed(2)} MB settled, ${first.afterGc.toFixed(2)} MB after a full GC`,
  );
  await loadFor(Math.max(0, minutes * 60 - 60));
  const end = await settled();
  const vaultRequests = stack.vault.requests.length - loginsBefore;
  const firstMinuteMb = first.afterGc;
  const endMb = end.afterGc;
  const growthMb = round(endMb - firstMinuteMb, 2);
  const settledGrowthMb = round(end.settled - first.settled, 2);
  const loaded = samples.filter((x) => x.s >= 60).map((x) => x.anon);
  const maxAfterFirstMinuteMb = Math.max(...loaded);
  const minAfterFirstMinuteMb = Math.min(...loaded);
  const results = {
    rssAnonAfterFirstMinuteMb: round(firstMinuteMb, 2),
    rssAnonEndMb: round(endMb, 2),
    rssAnonGrowthMb: growthMb,
    settledWithoutGc: {
      afterFirstMinuteMb: round(first.settled, 2),
      endMb: round(end.settled, 2),
      growthMb: settledGrowthMb,
    },
    rssAnonUnderReadsMb: { min: round(minAfterFirstMinuteMb, 2), max: round(maxAfterFirstMinuteMb, 2) },
    target: { rssAnonGrowthMb: TARGET_GROWTH_MB },
    met: { rssAnonGrowthMb: growthMb <= TARGET_GROWTH_MB },
    reads: counts,
    vaultRequests,
    samples,
    setup: {
      entry: script,
      nodeArgs,
      minutes,
      rate,
      settleSeconds: settleMs / 1000,
      tokenTtlSeconds: 2,
      tokenMaxTtlSeconds: 4,
      refresh: '1s',
      ...machine(),
    },
  };
  console.log(
    `\nRssAnon after a full GC: ${results.rssAnonAfterFirstMinuteMb} MB after the first minute, ${results.rssAnonEndMb} MB at the end (settled without it: ${round(first.settled, 2)} → ${round(end.settled, 2)} MB, ${settledGrowthMb} MB; ${minAfterFirstMinuteMb}-${maxAfterFirstMinuteMb} MB under reads): ` +
      `grew ${growthMb} MB (<= ${TARGET_GROWTH_MB}) ${results.met.rssAnonGrowthMb ? 'ok' : 'MISSED'}; reads ${JSON.stringify(counts)}, ${vaultRequests} Vault requests`,
  );
  console.log(`wrote ${writeResults('soak', results)}`);
}

await runBench(main, {
  children,
  scratch,
  keepScratch: false,
  cleanup: async () => {
    await stack?.close();
  },
});
