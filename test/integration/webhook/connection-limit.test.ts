/**
 * The HTTPS port holds at most VAULT_IRSA_WEBHOOK_MAX_CONNECTIONS connections: more TLS connections than that
 * are closed by the webhook as they arrive, the ones it holds still get reviews answered, and once they go new
 * ones are served. Counts, not timings. The resident memory is printed for the record, not asserted.
 */
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, type TLSSocket } from 'node:tls';
import { makeTestCert, writeTestCert, type TestCert } from '../../../stand-ins/tls.js';
import { admissionReview } from '../../unit/webhook/helpers.js';
import { postReview, startWebhookProcess, waitFor, type WebhookProcess } from './webhook-process.js';

const LIMIT = 20;
const OPENED = 60;

let dir: string;
let cert: TestCert;
let wh: WebhookProcess | undefined;
const sockets: TLSSocket[] = [];

beforeAll(async () => {
  cert = await makeTestCert();
  dir = await mkdtemp(join(tmpdir(), 'vault-irsa-wh-conn-'));
});
afterAll(async () => {
  for (const s of sockets) s.destroy();
  await wh?.stop();
  await rm(dir, { recursive: true, force: true });
});

const rssKb = (pid: number): number =>
  Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0);

/** One TLS connection: 'open' once the handshake is done, 'closed' if the server closed it before that. */
function open(port: number): Promise<{ socket: TLSSocket; state: 'open' | 'closed' }> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port, ca: cert.cert, servername: 'localhost' });
    sockets.push(socket);
    socket.once('secureConnect', () => resolve({ socket, state: 'open' }));
    socket.once('error', () => resolve({ socket, state: 'closed' }));
    socket.once('close', () => resolve({ socket, state: 'closed' }));
  });
}

/** A review sent over an existing TLS connection (as the API server reuses its connections). */
function reviewOver(socket: TLSSocket): Promise<number> {
  return new Promise((resolve, reject) => {
    const body = JSON.stringify(
      admissionReview(
        { metadata: { name: 'p', annotations: {} }, spec: { containers: [{ name: 'a', image: 'x' }] } },
        { uid: 'held' },
      ),
    );
    const req = request(
      {
        method: 'POST',
        path: '/mutate',
        createConnection: () => socket,
        headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
      },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

test(`${OPENED} TLS connections against a limit of ${LIMIT}: at most ${LIMIT} held, those answer, the rest closed`, async () => {
  const files = await writeTestCert(join(dir, 'tls'), cert);
  wh = await startWebhookProcess({
    VAULT_IRSA_WEBHOOK_VAULT_ADDR: 'https://vault.example.com:8200',
    VAULT_IRSA_WEBHOOK_TLS_CERT_FILE: files.certFile,
    VAULT_IRSA_WEBHOOK_TLS_KEY_FILE: files.keyFile,
    VAULT_IRSA_WEBHOOK_KUBERNETES: 'off',
    VAULT_IRSA_WEBHOOK_MAX_CONNECTIONS: String(LIMIT),
  });
  const pid = wh.child.pid as number;
  const before = rssKb(pid);

  const results = await Promise.all(Array.from({ length: OPENED }, () => open(wh!.port)));
  const held = results.filter((r) => r.state === 'open' && !r.socket.destroyed);
  const closed = results.filter((r) => r.state === 'closed');
  expect(held.length).toBeGreaterThan(0);
  expect(held.length).toBeLessThanOrEqual(LIMIT);
  expect(closed.length).toBeGreaterThanOrEqual(OPENED - LIMIT);

  // the held connections are served: a review on each of a few of them
  for (const { socket } of held.slice(0, 3)) expect(await reviewOver(socket)).toBe(200);
  // and the webhook said why it closed the others, once, not once per connection
  await waitFor(
    () => wh!.logs.some((l) => l.msg === 'connection limit reached: new connections closed'),
    'the drop warning',
    15_000,
  );
  expect(wh.logs.filter((l) => l.msg === 'connection limit reached: new connections closed')).toHaveLength(1);
  const during = rssKb(pid);

  // once the held connections go, new ones are served again
  for (const s of sockets) s.destroy();
  const p = { metadata: { name: 'p', annotations: {} }, spec: { containers: [{ name: 'a', image: 'x' }] } };
  await waitFor(
    async () =>
      (await postReview(wh!.port, cert.cert, admissionReview(p)).then(
        (r) => r.status,
        () => 0,
      )) === 200,
    'a review on a new connection',
  );
  console.log(
    `connection limit ${LIMIT}: ${held.length} held, ${closed.length} closed; webhook RSS ${Math.round(before / 1024)} MB before, ${Math.round(during / 1024)} MB while held`,
  );
}, 60_000);
