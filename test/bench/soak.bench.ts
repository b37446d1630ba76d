/**
 * `npm run bench:soak`: does the sidecar's private memory creep while it works hard for a long time? One sidecar
 * (the bundle, with the image's node flags) against the local stand-ins, with a Vault token TTL of 2 s and a max
 * TTL of 4 s (so it renews and logs in again all the time), secrets refreshed every second, and reads running
 * at a fixed modest rate on loopback. RssAnon (/proc/<pid>/status) is sampled every few seconds throughout.
 *
 * The figure: RssAnon settled after the first minute vs settled at the end. Under traffic RssAnon is a sawtooth
 * (the V8 heap grows until a major GC, 21-37 MB in a 10-minute run), so two readings under load differ by up
 * to the tooth wherever they fall. Settled means: reads paused, and `settle` seconds (20) for V8's memory
 * reducer to collect and give pages back, as an idle sidecar's would; then the median of several readings.
 * The load resumes after the first reading. The sawtooth's height is reported too.
 * Writes test/bench/results/soak.json. Bounded: --minutes=10 (default), loopback only.
 *
 * Options (--name=value or BENCH_NAME): entry=bundle|dist|<file>, minutes=10, rate=200 (reads/s), sample=5 (s),
 * settle=20 (s).
 */
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Agent, request } from 'node:http';
import { freePorts } from '../../stand-ins/ports.js';
import { startStack, type StackExt } from '../../stand-ins/stack.js';
import {
  arg,
  benchOptions,
  idleRssBreakdown,
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
  const child = startNode('sidecar', script, env, scratch, nodeArgs);
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
  const settled = async (): Promise<number> => {
    await sleep(settleMs);
    return (await idleRssBreakdown(child.pid, 10, 200)).anon;
  };
  await loadFor(60);
  const firstMinuteMb = await settled();
  console.log(`  settled after the first minute: RssAnon ${firstMinuteMb.toFixed(2)} MB`);
  await loadFor(Math.max(0, minutes * 60 - 60));
  const endMb = await settled();
  const vaultRequests = stack.vault.requests.length - loginsBefore;
  const growthMb = round(endMb - firstMinuteMb, 2);
  const loaded = samples.filter((x) => x.s >= 60).map((x) => x.anon);
  const maxAfterFirstMinuteMb = Math.max(...loaded);
  const minAfterFirstMinuteMb = Math.min(...loaded);
  const results = {
    rssAnonAfterFirstMinuteMb: round(firstMinuteMb, 2),
    rssAnonEndMb: round(endMb, 2),
    rssAnonGrowthMb: growthMb,
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
    `\nRssAnon settled: ${results.rssAnonAfterFirstMinuteMb} MB after the first minute, ${results.rssAnonEndMb} MB at the end (${minAfterFirstMinuteMb}-${maxAfterFirstMinuteMb} MB under reads): ` +
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
