/**
 * `npm run bench:sidecar`: the sidecar's secret reads against the local stand-ins (OIDC issuer, STS, Vault),
 * on loopback, next to a floor measured in the same run: a bare node:http server (test/bench/floor.cts)
 * answering the bytes the sidecar answered. Both are child processes measured the same way; autocannon runs
 * here. Prints a table and writes test/bench/results/sidecar.json.
 *
 * Options (--name=value or BENCH_NAME): entry=bundle|dist|<file> (default bundle, what the image runs),
 * connections=50, warmup=3 (s), phase=2 (s), rounds=5 (ABBA, alternating every phase: each program gets
 * rounds*phase seconds, so a shared machine's drift falls on both),
 * starts=7 (start-to-ready samples), settle=12 (s without traffic before idle RSS is sampled), idle=30 (s of idle
 * CPU measured, refresh at its default), load-at=idle (the reads are measured after the idle figures, once V8's idle
 * collections have run, as a pod's sidecar serves them; `ready` measures them first, right after start). The
 * subject runs with the image's node flags and env (imageNodeArgs, imageEnv; the sidecar sets its V8 flags itself,
 * sidecar/v8-flags.ts). The RssAnon drift target is measured by `npm run bench:soak`
 * (10 minutes); its last result (test/bench/results/soak.json) is shown and checked here when present.
 */
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { freePorts } from '../../stand-ins/ports.js';
import { startStack, type StackExt } from '../../stand-ins/stack.js';
import {
  FLOOR_JS,
  RESULTS_DIR,
  ROOT,
  abba,
  arg,
  benchOptions,
  cpuMs,
  fetchOnce,
  floorSpec,
  idleRss,
  idleRssBreakdown,
  imageEnv,
  imageNodeArgs,
  machine,
  median,
  printTable,
  runBench,
  round,
  sleep,
  startNode,
  waitForStatus,
  writeResults,
  type Child,
} from './common.js';

const { script, connections, warmupSeconds, phaseSeconds, rounds } = benchOptions('vault-irsa-sidecar');
const starts = Number(arg('starts', '7'));
// V8's memory reducer shrinks the heap ~8 s after activity stops: idle means past that, as a pod's sidecar is
// diagnosis only, e.g. --subject-node-args=--cpu-prof (the profile lands in the scratch dir, printed at the end)
const diagnosisArgs = arg('subject-node-args', '').split(' ').filter(Boolean);
const subjectNodeArgs = [...imageNodeArgs('sidecar'), ...diagnosisArgs];
// diagnosis only, e.g. --floor-node-args=--perf-basic-prof to profile the floor beside the subject
const floorNodeArgs = arg('floor-node-args', '').split(' ').filter(Boolean);
const idleCpuSeconds = Number(arg('idle', '30'));
const settleMs = Number(arg('settle', '12')) * 1000;
const loadAt = arg('load-at', 'idle');
if (loadAt !== 'idle' && loadAt !== 'ready') throw new Error(`--load-at: "${loadAt}" is neither idle nor ready`);

const SECRETS = { db: 'secret/my-app', config: 'kv1/app' };
const READ_PATH = '/v1/secrets/db';

/** issue 10's targets: ratios against the same run's floor, absolute figures where the floor has none */
const TARGETS = {
  idleRssAnonMb: 12,
  idleRssAnonRatio: 1.6,
  idleRssRatio: 1.15,
  loadPeakRssRatio: 1.3,
  readRatio: 0.9,
  cpuPerReadRatio: 1.1,
  idleCpuMsPerSec: 1,
  startupToReadyMs: 150,
  rssAnonDriftMb: 1,
  p99Ms: 5,
  vaultCallsPerRead: 0,
};

const children: Child[] = [];
let stack: StackExt | undefined;
const scratch = mkdtempSync(join(tmpdir(), 'vault-irsa-bench-sidecar-'));

async function sidecarEnv(): Promise<{ env: Record<string, string>; api: string; health: string }> {
  const [apiPort, healthPort] = await freePorts(2);
  const env = (stack as StackExt).sidecarEnv({
    VAULT_IRSA_SECRETS: JSON.stringify(SECRETS),
    VAULT_IRSA_LISTEN: `127.0.0.1:${apiPort}`,
    VAULT_IRSA_HEALTH_LISTEN: `127.0.0.1:${healthPort}`,
  });
  return { env, api: `http://127.0.0.1:${apiPort}`, health: `http://127.0.0.1:${healthPort}` };
}

async function startSidecar(name: string): Promise<{ child: Child; api: string; health: string; readyMs: number }> {
  const { env, api, health } = await sidecarEnv();
  const child = startNode(name, script, { ...imageEnv('sidecar'), ...env }, scratch, subjectNodeArgs);
  children.push(child);
  const readyAt = await waitForStatus(child, `${health}/readyz`, 200);
  return { child, api, health, readyMs: readyAt - child.spawnedAt };
}

async function main(): Promise<void> {
  stack = await startStack();
  console.log(
    `sidecar bench: ${script} vs bare node:http, ${connections} connections, warm-up ${warmupSeconds}s, ${rounds}x${phaseSeconds}s ABBA each`,
  );

  // 1. process start → /readyz 200 (login through STS and Vault, both secrets read), several fresh processes
  const startup: number[] = [];
  for (let i = 0; i < starts; i++) {
    const s = await startSidecar(`sidecar-start-${i}`);
    startup.push(s.readyMs);
    await s.child.stop();
  }
  const floorStartup: number[] = [];

  // 2. the long-lived subject, and the floor answering its bytes
  const subject = await startSidecar('sidecar');
  const requestToken = readFileSync(stack.requestTokenFile, 'utf8');
  const headers = { authorization: `Bearer ${requestToken}` };
  const answer = await fetchOnce(`${subject.api}${READ_PATH}`, { headers });
  if (answer.status !== 200) throw new Error(`sidecar answered ${answer.status}: ${answer.body.toString()}`);
  const [floorPort] = await freePorts(1);
  const floorUrl = `http://127.0.0.1:${floorPort}${READ_PATH}`;
  for (let i = 0; i < 3; i++) {
    const f = startNode(
      `floor-start-${i}`,
      FLOOR_JS,
      { BENCH_FLOOR_SPEC: floorSpec(answer), BENCH_FLOOR_PORT: String(floorPort) },
      scratch,
    );
    children.push(f);
    floorStartup.push((await waitForStatus(f, floorUrl, 200)) - f.spawnedAt);
    await f.stop();
  }
  const floor = startNode(
    'floor',
    FLOOR_JS,
    { BENCH_FLOOR_SPEC: floorSpec(answer), BENCH_FLOOR_PORT: String(floorPort) },
    scratch,
    floorNodeArgs,
  );
  children.push(floor);
  await waitForStatus(floor, floorUrl, 200);
  const floorAnswer = await fetchOnce(floorUrl, { headers });
  if (!floorAnswer.body.equals(answer.body)) throw new Error('the floor does not answer the same body as the sidecar');
  const headerNames = (a: typeof answer) => Object.keys(a.headers).sort().join(',');
  if (headerNames(floorAnswer) !== headerNames(answer))
    throw new Error(`header sets differ: ${headerNames(floorAnswer)} vs ${headerNames(answer)}`);

  const vault = stack.vault;

  // 3. idle RSS: both settled, no traffic
  const measureIdle = async () => {
    const [idleMb, floorIdleMb] = await Promise.all([
      idleRss(subject.child.pid, settleMs, 15, 200),
      idleRss(floor.pid, settleMs, 15, 200),
    ]);
    const [idleKinds, floorIdleKinds] = await Promise.all([
      idleRssBreakdown(subject.child.pid, 5),
      idleRssBreakdown(floor.pid, 5),
    ]);
    // idle CPU: no traffic, the refresh at its default; both processes over the same seconds
    const [cpu0, floorCpu0] = [cpuMs(subject.child.pid), cpuMs(floor.pid)];
    await sleep(idleCpuSeconds * 1000);
    const idleCpuMsPerSec = (cpuMs(subject.child.pid) - cpu0) / idleCpuSeconds;
    const floorIdleCpuMsPerSec = (cpuMs(floor.pid) - floorCpu0) / idleCpuSeconds;
    return { idleMb, floorIdleMb, idleKinds, floorIdleKinds, idleCpuMsPerSec, floorIdleCpuMsPerSec };
  };

  // 4. reads under load, alternating; count Vault calls across all of it
  const measureLoad = async () => {
    const vaultBefore = vault.requests.length;
    const loadStarted = performance.now();
    let subjectReads = 0;
    const r = await abba(
      { url: `${subject.api}${READ_PATH}`, headers, pid: subject.child.pid },
      { url: floorUrl, headers, pid: floor.pid },
      {
        connections,
        warmupSeconds,
        phaseSeconds,
        rounds,
        onPhase: (who, p) => {
          if (who === 'subject') subjectReads += p.requests;
          console.log(
            `  ${who.padEnd(7)} ${Math.round(p.perSec)} req/s, ${Math.round((p.cpuMs * 1000) / p.requests)} us CPU/req`,
          );
        },
        onWarmup: (who, p) => {
          if (who === 'subject') subjectReads += p.requests;
        },
      },
    );
    const loadSeconds = (performance.now() - loadStarted) / 1000;
    const vaultCalls = vault.requests.slice(vaultBefore);
    if (r.subject.non2xx + r.subject.errors + r.floor.non2xx + r.floor.errors > 0) {
      throw new Error(
        `failed requests under load: subject ${r.subject.non2xx} non-2xx/${r.subject.errors} errors, floor ${r.floor.non2xx}/${r.floor.errors}`,
      );
    }
    const afterLoadMb = await idleRss(subject.child.pid, 1_000, 5);
    return { r, loadSeconds, vaultCalls, subjectReads, afterLoadMb };
  };

  // the subject's reads are measured after it has idled (V8's idle collections done), as a pod's sidecar serves
  // them; --load-at=ready measures them first, right after start (diagnosis: the README's "after an idle full
  // collection"), and the idle figures after the load
  const loadFirst = loadAt === 'ready';
  const loadOut = loadFirst ? await measureLoad() : undefined;
  const { idleMb, floorIdleMb, idleKinds, floorIdleKinds, idleCpuMsPerSec, floorIdleCpuMsPerSec } = await measureIdle();
  const { r, loadSeconds, vaultCalls, subjectReads, afterLoadMb } = loadOut ?? (await measureLoad());

  const startupToReadyMs = median(startup);
  const soakFile = join(RESULTS_DIR, 'soak.json');
  const soak = existsSync(soakFile)
    ? (JSON.parse(readFileSync(soakFile, 'utf8')) as { rssAnonGrowthMb?: number; setup?: { minutes?: number } })
    : undefined;
  const results = {
    readsPerSec: Math.round(r.subject.perSec),
    floorReadsPerSec: Math.round(r.floor.perSec),
    readRatio: round(r.subject.perSec / r.floor.perSec, 3),
    p50Ms: round(r.subject.p50Ms, 3),
    p99Ms: round(r.subject.p99Ms, 3),
    p999Ms: round(r.subject.p999Ms, 3),
    floorP50Ms: round(r.floor.p50Ms, 3),
    floorP99Ms: round(r.floor.p99Ms, 3),
    cpuUsPerRead: round(r.subject.cpuUsPerRequest, 1),
    floorCpuUsPerRead: round(r.floor.cpuUsPerRequest, 1),
    idleRssMb: round(idleMb, 1),
    floorIdleRssMb: round(floorIdleMb, 1),
    idleRssRatio: round(idleMb / floorIdleMb, 3),
    idleRssAnonMb: round(idleKinds.anon, 1),
    idleRssAnonRatio: round(idleKinds.anon / floorIdleKinds.anon, 3),
    idleCpuMsPerSec: round(idleCpuMsPerSec, 2),
    floorIdleCpuMsPerSec: round(floorIdleCpuMsPerSec, 2),
    cpuPerReadRatio: round(r.subject.cpuUsPerRequest / r.floor.cpuUsPerRequest, 3),
    loadPeakRssRatio: round(r.subject.rssPeakMb / r.floor.rssPeakMb, 3),
    rssAnonDriftMb: soak?.rssAnonGrowthMb ?? null,
    idleRssFileMb: round(idleKinds.file, 1),
    floorIdleRssAnonMb: round(floorIdleKinds.anon, 1),
    floorIdleRssFileMb: round(floorIdleKinds.file, 1),
    loadRssMb: round(r.subject.rssPeakMb, 1),
    loadRssMedianMb: round(r.subject.rssMedianMb, 1),
    floorLoadRssMb: round(r.floor.rssPeakMb, 1),
    rssAfterLoadMb: round(afterLoadMb, 1),
    startupToReadyMs: round(startupToReadyMs, 1),
    startupToReadySamplesMs: startup.map((x) => round(x, 1)),
    floorStartupToListeningMs: round(median(floorStartup), 1),
    vaultCallsDuringLoad: vaultCalls.length,
    appReadsDuringLoad: subjectReads,
    vaultCallsPerRead: subjectReads > 0 ? vaultCalls.length / subjectReads : NaN,
    targets: TARGETS,
    met: {} as Record<string, boolean>,
    setup: {
      entry: script.slice(ROOT.length),
      path: READ_PATH,
      responseBytes: answer.body.length,
      secrets: Object.keys(SECRETS).length,
      connections,
      warmupSeconds,
      phaseSeconds,
      rounds,
      settleSeconds: settleMs / 1000,
      idleCpuSeconds,
      loadAt,
      nodeArgs: subjectNodeArgs,
      loadSeconds: round(loadSeconds, 1),
      ...machine(),
    },
  };
  results.met = {
    idleRssAnonMb: results.idleRssAnonMb <= TARGETS.idleRssAnonMb,
    idleRssAnonRatio: results.idleRssAnonRatio <= TARGETS.idleRssAnonRatio,
    idleRssRatio: results.idleRssRatio <= TARGETS.idleRssRatio,
    loadPeakRssRatio: results.loadPeakRssRatio <= TARGETS.loadPeakRssRatio,
    readRatio: results.readRatio >= TARGETS.readRatio,
    cpuPerReadRatio: results.cpuPerReadRatio <= TARGETS.cpuPerReadRatio,
    idleCpuMsPerSec: results.idleCpuMsPerSec <= TARGETS.idleCpuMsPerSec,
    startupToReadyMs: results.startupToReadyMs <= TARGETS.startupToReadyMs,
    ...(results.rssAnonDriftMb !== null ? { rssAnonDriftMb: results.rssAnonDriftMb <= TARGETS.rssAnonDriftMb } : {}),
    p99Ms: results.p99Ms <= TARGETS.p99Ms,
    vaultCallsPerRead: results.vaultCallsPerRead === TARGETS.vaultCallsPerRead,
  };

  const ok = (b: boolean | undefined) => (b ? 'ok' : 'MISSED');
  const T = TARGETS;
  const m = results.met;
  printTable(
    `vault-irsa sidecar: GET ${READ_PATH} (${answer.body.length} B), ${connections} connections, ${round(r.subject.seconds, 1)}s each`,
    [
      [
        'reads/s',
        String(results.readsPerSec),
        String(results.floorReadsPerSec),
        `${results.readRatio} (>= ${T.readRatio}) ${ok(m.readRatio)}`,
      ],
      ['p50 ms', String(results.p50Ms), String(results.floorP50Ms), ''],
      ['p99 ms', String(results.p99Ms), String(results.floorP99Ms), `(<= ${T.p99Ms}) ${ok(m.p99Ms)}`],
      [
        'server CPU us per read',
        String(results.cpuUsPerRead),
        String(results.floorCpuUsPerRead),
        `${results.cpuPerReadRatio}x (<= ${T.cpuPerReadRatio}) ${ok(m.cpuPerReadRatio)}`,
      ],
      [
        'idle VmRSS MB',
        String(results.idleRssMb),
        String(results.floorIdleRssMb),
        `${results.idleRssRatio}x (<= ${T.idleRssRatio}) ${ok(m.idleRssRatio)}`,
      ],
      [
        'idle RssAnon MB (private)',
        String(results.idleRssAnonMb),
        String(results.floorIdleRssAnonMb),
        `${results.idleRssAnonRatio}x (<= ${T.idleRssAnonRatio}) ${ok(m.idleRssAnonRatio)}; <= ${T.idleRssAnonMb} MB ${ok(m.idleRssAnonMb)}`,
      ],
      ['idle RssFile MB (mapped files)', String(results.idleRssFileMb), String(results.floorIdleRssFileMb), ''],
      [
        `idle CPU ms per s (${idleCpuSeconds}s)`,
        String(results.idleCpuMsPerSec),
        String(results.floorIdleCpuMsPerSec),
        `(<= ${T.idleCpuMsPerSec}) ${ok(m.idleCpuMsPerSec)}`,
      ],
      [
        'VmRSS under load MB (peak)',
        String(results.loadRssMb),
        String(results.floorLoadRssMb),
        `${results.loadPeakRssRatio}x (<= ${T.loadPeakRssRatio}) ${ok(m.loadPeakRssRatio)}`,
      ],
      [
        'start to ready ms (median)',
        String(results.startupToReadyMs),
        `${results.floorStartupToListeningMs} (to listening)`,
        `(<= ${T.startupToReadyMs}) ${ok(m.startupToReadyMs)}`,
      ],
      [
        'RssAnon drift MB (bench:soak)',
        results.rssAnonDriftMb === null ? 'not run' : String(results.rssAnonDriftMb),
        '',
        results.rssAnonDriftMb === null
          ? '(npm run bench:soak)'
          : `(<= ${T.rssAnonDriftMb}, ${soak?.setup?.minutes ?? '?'} min) ${ok(m.rssAnonDriftMb)}`,
      ],
      [
        'Vault calls per read',
        `${results.vaultCallsDuringLoad}/${results.appReadsDuringLoad}`,
        '',
        `${results.vaultCallsPerRead} (= 0) ${ok(m.vaultCallsPerRead)}`,
      ],
    ],
  );
  console.log(`\nstart-to-ready samples (ms): ${results.startupToReadySamplesMs.join(', ')}`);
  if (loadFirst)
    console.log("load-at=ready: the idle figures above follow the load; only load-at=idle meets the targets' terms");
  console.log(`wrote ${writeResults('sidecar', results)}`);
}

await runBench(main, {
  children,
  scratch,
  keepScratch: diagnosisArgs.length > 0,
  cleanup: async () => {
    await stack?.close();
  },
});
