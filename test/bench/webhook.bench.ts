/**
 * `npm run bench:webhook`: AdmissionReviews per second over HTTPS keep-alive for a realistic pod (3 containers,
 * 2 secrets, IRSA env from the EKS pod identity webhook), next to a floor measured in the same run: a bare
 * node:https server (test/bench/floor.cts) with the same certificate answering the AdmissionReview response the
 * webhook gave for that pod (same bytes, so the same size). A second reference, the same floor also parsing
 * each request and serialising its answer, shows what JSON alone costs. All are child processes measured the
 * same way, in turn; autocannon runs here. Prints a table and writes test/bench/results/webhook.json.
 *
 * Options (--name=value or BENCH_NAME): entry=bundle|dist|<file> (default bundle, what the image runs),
 * connections=50, warmup=3 (s), phase=2 (s), rounds=5 (the order reversed every round), settle=12 (s),
 * latency-connections=4 (a second rotation at the API server's usual concurrency, for p99).
 * Diagnosis only: --subject-node-args=--cpu-prof, --floor-node-args=--perf-basic-prof, BENCH_WEBHOOK_LOG_LEVEL
 * (the webhook logs a line per review at the default, info; that is what is measured).
 * --kubernetes=off (default) | stand-in | kubeconfig: with the Kubernetes API on, against the API server stand-in
 * (HTTPS, 300 ServiceAccounts listed and watched). `stand-in` runs the webhook as in a pod (KUBERNETES_SERVICE_*,
 * the ServiceAccount token and ca.crt at /var/run/secrets/...): the bench re-runs itself under `unshare -m`
 * (root) and puts those files on a tmpfs over /run that only its own mount namespace sees. `kubeconfig` points
 * KUBECONFIG at the stand-in instead. Results go to webhook-kubernetes-<mode>.json.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePorts } from '../../stand-ins/ports.js';
import { makeTestCert, writeTestCert } from '../../stand-ins/tls.js';
import { startFakeKubeApi, type FakeKubeApi } from '../support/fake-kube-api.js';
import { admissionReview, realisticPod } from './webhook-review.js';
import {
  FLOOR_JS,
  ROOT,
  arg,
  benchOptions,
  rotate,
  runBench,
  fetchOnce,
  floorSpec,
  idleRss,
  idleRssBreakdown,
  imageNodeArgs,
  machine,
  printTable,
  round,
  startNode,
  waitForStatus,
  writeResults,
  type Child,
} from './common.js';

const { script, connections, warmupSeconds, phaseSeconds, rounds } = benchOptions('vault-irsa-webhook');
const settleMs = Number(arg('settle', '12')) * 1000;
const diagnosisArgs = arg('subject-node-args', '').split(' ').filter(Boolean);
// diagnosis only, e.g. --floor-node-args=--perf-basic-prof to profile both floors beside the subject
const floorNodeArgs = arg('floor-node-args', '').split(' ').filter(Boolean);
const subjectNodeArgs = [...imageNodeArgs('webhook'), ...diagnosisArgs];
const latencyConnections = Number(arg('latency-connections', '4'));
const kubernetes = arg('kubernetes', 'off');
if (!['off', 'stand-in', 'kubeconfig'].includes(kubernetes))
  throw new Error(`--kubernetes must be off, stand-in or kubeconfig, not ${JSON.stringify(kubernetes)}`);

// in-cluster style needs the ServiceAccount files at their fixed path: in a mount namespace of our own
if (kubernetes === 'stand-in' && process.env.BENCH_IN_MOUNT_NS !== '1') {
  const r = spawnSync(
    'unshare',
    ['-m', '--propagation', 'private', process.execPath, ...process.execArgv, ...process.argv.slice(1)],
    {
      stdio: 'inherit',
      env: { ...process.env, BENCH_IN_MOUNT_NS: '1' },
    },
  );
  if (r.error || r.status === null)
    throw new Error(`--kubernetes=stand-in needs \`unshare -m\` (root): ${r.error?.message ?? r.signal}`);
  process.exit(r.status);
}

/** issue 10's targets: CPU against the floor that parses, p99 at the API server's usual concurrency, idle memory */
const TARGETS = { cpuPerReviewVsParseFloor: 2.0, p99MsAt4: 3, idleRssRatio: 1.2, reviewRatio: 0.6 };

const children: Child[] = [];
const scratch = mkdtempSync(join(tmpdir(), 'vault-irsa-bench-webhook-'));
let kube: FakeKubeApi | undefined;

/** The env that points the webhook at the API server stand-in, per --kubernetes. */
async function kubernetesEnv(cert: { cert: string; key: string }): Promise<Record<string, string>> {
  if (kubernetes === 'off') return { VAULT_IRSA_WEBHOOK_KUBERNETES: 'off' };
  kube = await startFakeKubeApi({ tls: cert });
  // a cluster of a few hundred ServiceAccounts, some with IRSA annotations
  for (let i = 0; i < 300; i++)
    kube.upsertServiceAccount(
      `ns${i % 30}`,
      `sa${i}`,
      i % 3 === 0 ? { 'eks.amazonaws.com/role-arn': `arn:aws:iam::111122223333:role/r${i}` } : undefined,
    );
  kube.upsertServiceAccount('shop', 'checkout');
  if (kubernetes === 'kubeconfig') {
    writeFileSync(join(scratch, 'ca.crt'), cert.cert);
    const url = new URL(kube.url);
    writeFileSync(
      join(scratch, 'kubeconfig'),
      `apiVersion: v1\nkind: Config\nclusters:\n- name: s\n  cluster:\n    server: ${url.href}\n    certificate-authority: ${join(scratch, 'ca.crt')}\nusers:\n- name: s\n  user:\n    token: bench-token\ncontexts:\n- name: s\n  context:\n    cluster: s\n    user: s\ncurrent-context: s\n`,
    );
    return { VAULT_IRSA_WEBHOOK_KUBERNETES: 'auto', KUBECONFIG: join(scratch, 'kubeconfig') };
  }
  execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', '/run']);
  const env = await kube.writeInCluster('/', 'bench-token');
  return { VAULT_IRSA_WEBHOOK_KUBERNETES: 'auto', ...env };
}

async function main(): Promise<void> {
  const cert = await makeTestCert({ dnsNames: ['localhost'], ips: ['127.0.0.1'] });
  const tls = await writeTestCert(join(scratch, 'tls'), cert);
  const [port, floorPort, parseFloorPort] = await freePorts(3);
  console.log(
    `webhook bench: ${script} vs bare node:https, ${connections} connections, warm-up ${warmupSeconds}s, ${rounds}x${phaseSeconds}s ABBA each`,
  );

  const subject = startNode(
    'webhook',
    script,
    {
      VAULT_IRSA_WEBHOOK_PORT: String(port),
      VAULT_IRSA_WEBHOOK_LISTEN_HOST: '127.0.0.1',
      VAULT_IRSA_WEBHOOK_TLS_CERT_FILE: tls.certFile,
      VAULT_IRSA_WEBHOOK_TLS_KEY_FILE: tls.keyFile,
      VAULT_IRSA_WEBHOOK_VAULT_ADDR: 'https://vault.vault.svc:8200',
      VAULT_IRSA_WEBHOOK_IAM_SERVER_ID: 'vault.example.com',
      ...(await kubernetesEnv(cert)),
      ...(process.env.BENCH_WEBHOOK_LOG_LEVEL
        ? { VAULT_IRSA_WEBHOOK_LOG_LEVEL: process.env.BENCH_WEBHOOK_LOG_LEVEL }
        : {}),
    },
    scratch,
    subjectNodeArgs,
  );
  children.push(subject);
  const readyAt = await waitForStatus(subject, `https://127.0.0.1:${port}/readyz`, 200, { ca: cert.cert });
  const startupMs = readyAt - subject.spawnedAt;
  if (kube) {
    const k = kube;
    const deadline = Date.now() + 15_000;
    while (k.openWatches < 1 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    if (k.openWatches < 1) throw new Error('the webhook did not open its ServiceAccount watch');
  }

  const body = Buffer.from(JSON.stringify(admissionReview(realisticPod())));
  const headers = { 'content-type': 'application/json' };
  const url = `https://127.0.0.1:${port}/mutate`;
  const answer = await fetchOnce(url, { method: 'POST', headers, body, ca: cert.cert });
  const response = (JSON.parse(answer.body.toString()) as { response?: { allowed?: boolean; patch?: string } })
    .response;
  if (answer.status !== 200 || response?.allowed !== true || !response.patch) {
    throw new Error(`the webhook did not inject the pod: ${answer.status} ${answer.body.toString().slice(0, 500)}`);
  }
  const ops = (JSON.parse(Buffer.from(response.patch, 'base64').toString()) as unknown[]).length;

  const floor = startNode(
    'floor',
    FLOOR_JS,
    {
      BENCH_FLOOR_SPEC: floorSpec(answer),
      BENCH_FLOOR_PORT: String(floorPort),
      BENCH_FLOOR_TLS_CERT_FILE: tls.certFile,
      BENCH_FLOOR_TLS_KEY_FILE: tls.keyFile,
    },
    scratch,
    floorNodeArgs,
  );
  children.push(floor);
  const floorUrl = `https://127.0.0.1:${floorPort}/mutate`;
  const floorReadyAt = await waitForStatus(floor, floorUrl, 200, { ca: cert.cert });
  const floorAnswer = await fetchOnce(floorUrl, { method: 'POST', headers, body, ca: cert.cert });
  if (!floorAnswer.body.equals(answer.body)) throw new Error('the floor does not answer the same body as the webhook');

  // the second reference: the same server, also parsing each review and serialising the answer
  const parseFloor = startNode(
    'parse-floor',
    FLOOR_JS,
    {
      BENCH_FLOOR_SPEC: floorSpec(answer),
      BENCH_FLOOR_PORT: String(parseFloorPort),
      BENCH_FLOOR_TLS_CERT_FILE: tls.certFile,
      BENCH_FLOOR_TLS_KEY_FILE: tls.keyFile,
      BENCH_FLOOR_PARSE: '1',
    },
    scratch,
    floorNodeArgs,
  );
  children.push(parseFloor);
  const parseFloorUrl = `https://127.0.0.1:${parseFloorPort}/mutate`;
  await waitForStatus(parseFloor, parseFloorUrl, 200, { ca: cert.cert });
  if (!(await fetchOnce(parseFloorUrl, { method: 'POST', headers, body, ca: cert.cert })).body.equals(answer.body)) {
    throw new Error('the parsing floor does not answer the same body as the webhook');
  }

  const [idleMb, floorIdleMb] = await Promise.all([
    idleRss(subject.pid, settleMs, 15, 200),
    idleRss(floor.pid, settleMs, 15, 200),
  ]);
  const [idleKinds, floorIdleKinds] = await Promise.all([
    idleRssBreakdown(subject.pid, 5),
    idleRssBreakdown(floor.pid, 5),
  ]);

  const r = await rotate(
    {
      floor: { url: floorUrl, method: 'POST', headers, body, pid: floor.pid },
      subject: { url, method: 'POST', headers, body, pid: subject.pid },
      parseFloor: { url: parseFloorUrl, method: 'POST', headers, body, pid: parseFloor.pid },
    },
    {
      connections,
      warmupSeconds,
      phaseSeconds,
      rounds,
      onPhase: (who, p) =>
        console.log(
          `  ${who.padEnd(10)} ${Math.round(p.perSec)} req/s, ${Math.round((p.cpuMs * 1000) / p.requests)} us CPU/req`,
        ),
    },
  );
  // p99 where the API server usually is: a few reviews at a time
  const lat = await rotate(
    {
      subject: { url, method: 'POST', headers, body, pid: subject.pid },
      parseFloor: { url: parseFloorUrl, method: 'POST', headers, body, pid: parseFloor.pid },
    },
    { connections: latencyConnections, warmupSeconds: 1, phaseSeconds, rounds: Math.max(2, Math.ceil(rounds / 2)) },
  );
  for (const [who, m] of [...Object.entries(r), ...Object.entries(lat)]) {
    if (m.non2xx + m.errors > 0)
      throw new Error(`failed requests under load: ${who} ${m.non2xx} non-2xx, ${m.errors} errors`);
  }

  const results = {
    reviewsPerSec: Math.round(r.subject.perSec),
    floorReviewsPerSec: Math.round(r.floor.perSec),
    reviewRatio: round(r.subject.perSec / r.floor.perSec, 3),
    p50Ms: round(r.subject.p50Ms, 3),
    p99Ms: round(r.subject.p99Ms, 3),
    p999Ms: round(r.subject.p999Ms, 3),
    floorP50Ms: round(r.floor.p50Ms, 3),
    floorP99Ms: round(r.floor.p99Ms, 3),
    parseFloorReviewsPerSec: Math.round(r.parseFloor.perSec),
    parseFloorRatio: round(r.parseFloor.perSec / r.floor.perSec, 3),
    cpuUsPerReview: round(r.subject.cpuUsPerRequest, 1),
    parseFloorCpuUsPerReview: round(r.parseFloor.cpuUsPerRequest, 1),
    floorCpuUsPerReview: round(r.floor.cpuUsPerRequest, 1),
    rssMb: round(r.subject.rssPeakMb, 1),
    rssMedianMb: round(r.subject.rssMedianMb, 1),
    floorRssMb: round(r.floor.rssPeakMb, 1),
    idleRssMb: round(idleMb, 1),
    floorIdleRssMb: round(floorIdleMb, 1),
    idleRssRatio: round(idleMb / floorIdleMb, 3),
    idleRssAnonMb: round(idleKinds.anon, 1),
    idleRssFileMb: round(idleKinds.file, 1),
    floorIdleRssAnonMb: round(floorIdleKinds.anon, 1),
    floorIdleRssFileMb: round(floorIdleKinds.file, 1),
    cpuPerReviewVsParseFloor: round(r.subject.cpuUsPerRequest / r.parseFloor.cpuUsPerRequest, 3),
    p99MsAt4: round(lat.subject.p99Ms, 3),
    p50MsAt4: round(lat.subject.p50Ms, 3),
    parseFloorP99MsAt4: round(lat.parseFloor.p99Ms, 3),
    cpuUsPerReviewAt4: round(lat.subject.cpuUsPerRequest, 1),
    startupToReadyMs: round(startupMs, 1),
    floorStartupToListeningMs: round(floorReadyAt - floor.spawnedAt, 1),
    targets: TARGETS,
    met: {} as Record<string, boolean>,
    setup: {
      entry: script.slice(ROOT.length),
      pod: `3 containers, 2 secrets, IRSA env present; KUBERNETES=${kubernetes === 'off' ? 'off' : `auto (${kubernetes}, 301 ServiceAccounts)`}`,
      kubernetes,
      requestBytes: body.length,
      responseBytes: answer.body.length,
      patchOps: ops,
      connections,
      latencyConnections,
      nodeArgs: subjectNodeArgs,
      warmupSeconds,
      phaseSeconds,
      rounds,
      settleSeconds: settleMs / 1000,
      ...machine(),
    },
  };
  results.met = {
    cpuPerReviewVsParseFloor: results.cpuPerReviewVsParseFloor <= TARGETS.cpuPerReviewVsParseFloor,
    p99MsAt4: results.p99MsAt4 <= TARGETS.p99MsAt4,
    idleRssRatio: results.idleRssRatio <= TARGETS.idleRssRatio,
    reviewRatio: results.reviewRatio >= TARGETS.reviewRatio,
  };

  const ok = (b: boolean | undefined) => (b ? 'ok' : 'MISSED');
  printTable(
    `vault-irsa webhook: POST /mutate (${body.length} B in, ${answer.body.length} B out, ${ops} patch ops), HTTPS keep-alive, ${connections} connections, ${round(r.subject.seconds, 1)}s each`,
    [
      [
        'reviews/s',
        String(results.reviewsPerSec),
        String(results.floorReviewsPerSec),
        `${results.reviewRatio} (>= ${TARGETS.reviewRatio}) ${ok(results.met.reviewRatio)}`,
      ],
      [
        'reviews/s of a floor that parses',
        '',
        String(results.parseFloorReviewsPerSec),
        `${results.parseFloorRatio} of the floor`,
      ],
      ['p50 ms', String(results.p50Ms), String(results.floorP50Ms), ''],
      [`p99 ms (${connections} connections)`, String(results.p99Ms), String(results.floorP99Ms), ''],
      [
        `p99 ms (${latencyConnections} connections)`,
        String(results.p99MsAt4),
        `${results.parseFloorP99MsAt4} (parsing floor)`,
        `(<= ${TARGETS.p99MsAt4}) ${ok(results.met.p99MsAt4)}`,
      ],
      [
        'server CPU us per review',
        String(results.cpuUsPerReview),
        `${results.floorCpuUsPerReview}; parsing ${results.parseFloorCpuUsPerReview}`,
        `${results.cpuPerReviewVsParseFloor}x parsing floor (<= ${TARGETS.cpuPerReviewVsParseFloor}) ${ok(results.met.cpuPerReviewVsParseFloor)}`,
      ],
      ['RSS under load MB (peak)', String(results.rssMb), String(results.floorRssMb), ''],
      [
        'idle VmRSS MB',
        String(results.idleRssMb),
        String(results.floorIdleRssMb),
        `${results.idleRssRatio}x (<= ${TARGETS.idleRssRatio}) ${ok(results.met.idleRssRatio)}`,
      ],
      ['idle RssAnon MB (private)', String(results.idleRssAnonMb), String(results.floorIdleRssAnonMb), ''],
      ['idle RssFile MB (mapped files)', String(results.idleRssFileMb), String(results.floorIdleRssFileMb), ''],
      [
        'start to ready ms',
        String(results.startupToReadyMs),
        `${results.floorStartupToListeningMs} (to listening)`,
        '',
      ],
    ],
  );
  console.log(`wrote ${writeResults(kubernetes === 'off' ? 'webhook' : `webhook-kubernetes-${kubernetes}`, results)}`);
  await kube?.close();
}

await runBench(main, { children, scratch, keepScratch: diagnosisArgs.length > 0 });
