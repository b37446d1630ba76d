import { spawnSync } from 'node:child_process';
import { LISTENER_SOURCE, WEBHOOK_SERVER_SOURCE, dist, runV8Case } from './v8-case.js';

/**
 * The case sidecar/response-shape.ts exists for, run for real in a child node with V8's natives syntax:
 * six responses, answered and dropped, then full GCs (as V8's memory reducer runs them a few idle seconds after
 * start), then more requests. Without the settle every later ServerResponse is a dictionary-mode object.
 */
const SHAPE = dist('sidecar/response-shape.js');

const DRIVER = `
import http from 'node:http';
import net from 'node:net';
import tls from 'node:tls';
const mode = process.argv[1];
const hasFastProperties = new Function('o', 'return %HasFastProperties(o)');
let fast = 0, slow = 0;
const handle = (req, res) => {
  hasFastProperties(res) ? fast++ : slow++;
  res.writeHead(200, { 'content-length': '2' });
  res.end('ok');
};
let server;
let connect = (port) => net.connect(port, '127.0.0.1');
if (mode === 'webhook') {
  ${WEBHOOK_SERVER_SOURCE}
  // the probe sees what fastify answers with: node's ServerResponse, before fastify writes it
  app.addHook('onSend', async (_req, reply) => { hasFastProperties(reply.raw) ? fast++ : slow++; });
  await app.listen({ host: '127.0.0.1', port: 0 });
  server = app.server;
  connect = (port) => tls.connect({ port, host: '127.0.0.1', rejectUnauthorized: false });
} else if (mode === 'listener') {
  ${LISTENER_SOURCE}
  await listener.listen({ host: '127.0.0.1', port: 0 });
  server = listener.server;
} else {
  if (mode === 'settled') (await import(${JSON.stringify(SHAPE)})).settleResponseShape();
  server = http.createServer(handle);
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
}
// one keep-alive connection, one request at a time: each response is answered and dropped before the next
const requests = (n) => new Promise((resolve, reject) => {
  const s = connect(server.address().port);
  let answered = 0;
  const ask = () => s.write('GET /healthz HTTP/1.1\\r\\nHost: 127.0.0.1\\r\\n\\r\\n');
  s.on(mode === 'webhook' ? 'secureConnect' : 'connect', ask);
  s.on('error', reject);
  s.on('data', (d) => {
    answered += d.toString('latin1').split('HTTP/1.1 200').length - 1;
    if (answered < n) ask(); else { s.destroy(); resolve(); }
  });
});
await requests(6);
for (let i = 0; i < 4; i++) gc();
fast = slow = 0;
await requests(20);
console.log(JSON.stringify({ fast, slow }));
server.close();
`;

function run(mode: string): { fast: number; slow: number } {
  return JSON.parse(runV8Case(DRIVER, mode).trim().split('\n').pop() as string) as { fast: number; slow: number };
}

test('the V8 case itself: on a bare node:http server, six responses then a full GC leave every later response in dictionary mode', () => {
  // if a node release stops doing this, the settle is no longer needed (and this test says so)
  expect(run('bare')).toEqual({ fast: 0, slow: 20 });
});

test('after settleResponseShape() the same sequence keeps every response on fast properties', () => {
  expect(run('settled')).toEqual({ fast: 20, slow: 0 });
});

test('an HttpListener (both sidecar listeners) settles the shape itself', () => {
  expect(run('listener')).toEqual({ fast: 20, slow: 0 });
});

test("the webhook's server settles it too (fastify answers through the same ServerResponse)", () => {
  expect(run('webhook')).toEqual({ fast: 20, slow: 0 });
});

test('with a subscriber on http.server.response.created (Node 22 publishes each new response) nothing is settled', () => {
  // settleResponseShape() takes every response it makes through writeHead: count those calls
  const script = (subscribe: boolean): string => `
    import http from 'node:http';
    import dc from 'node:diagnostics_channel';
    if (${subscribe}) dc.subscribe('http.server.response.created', () => {});
    let made = 0;
    const writeHead = http.ServerResponse.prototype.writeHead;
    http.ServerResponse.prototype.writeHead = function (...a) { made++; return writeHead.apply(this, a); };
    (await import(${JSON.stringify(SHAPE)})).settleResponseShape();
    console.log(made);`;
  const made = (subscribe: boolean): string =>
    spawnSync(process.execPath, ['--input-type=module', '-e', script(subscribe)], { encoding: 'utf8' }).stdout.trim();
  expect(made(false)).toBe('8');
  expect(made(true)).toBe('0');
});
