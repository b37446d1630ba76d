/**
 * The floor the benchmarks compare against: a bare node:http (or node:https) server that answers every
 * request with one fixed response (status, headers, body) captured from the program under test. No routing,
 * no auth, no logging, no metrics: what the same bytes cost on this machine in this run.
 *
 * Configured by env (set by the bench): BENCH_FLOOR_SPEC = JSON {status, headers, body (base64)},
 * BENCH_FLOOR_TLS_CERT_FILE / BENCH_FLOOR_TLS_KEY_FILE for HTTPS, BENCH_FLOOR_PORT.
 *
 * BENCH_FLOOR_PARSE=1 makes it a second reference for the webhook: it also JSON-parses each request body and
 * serialises the answer from a parsed copy (the same bytes), the least any webhook must do per review. The
 * gap between the two floors is what reading JSON costs before any admission logic runs.
 *
 * CommonJS (.cts → dist/test/bench/floor.cjs), as the sidecar's bundle is: on Node 22 an ES module entry loads
 * node's ES module loader, ~4 MiB of private memory that a bare server does not need and a floor must not carry.
 */
import { readFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';

interface Spec {
  status: number;
  headers: Record<string, string>;
  body: string;
}

const spec = JSON.parse(process.env.BENCH_FLOOR_SPEC ?? '') as Spec;
const body = Buffer.from(spec.body, 'base64');
const headers = { ...spec.headers, 'content-length': String(body.length) };

const parse = process.env.BENCH_FLOOR_PARSE === '1';
const answer: unknown = parse ? JSON.parse(body.toString('utf8')) : undefined;

const handler = (req: IncomingMessage, res: ServerResponse): void => {
  if (!parse) {
    // read the request body (the webhook's AdmissionReview) before answering, as any server must
    req.resume();
    req.once('end', () => {
      res.writeHead(spec.status, headers);
      res.end(body);
    });
    return;
  }
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.once('end', () => {
    const text = Buffer.concat(chunks).toString('utf8');
    if (text !== '') JSON.parse(text);
    const out = Buffer.from(JSON.stringify(answer));
    res.writeHead(spec.status, { ...headers, 'content-length': String(out.length) });
    res.end(out);
  });
};

const certFile = process.env.BENCH_FLOOR_TLS_CERT_FILE;
const keyFile = process.env.BENCH_FLOOR_TLS_KEY_FILE;
// require(), so the sidecar's floor never loads node:https (this file is CommonJS: see the header)
/* eslint-disable @typescript-eslint/no-require-imports */
const server =
  certFile && keyFile
    ? (require('node:https') as typeof import('node:https')).createServer(
        { cert: readFileSync(certFile), key: readFileSync(keyFile) },
        handler,
      )
    : (require('node:http') as typeof import('node:http')).createServer(handler);
/* eslint-enable @typescript-eslint/no-require-imports */
// the same idle keep-alive the subjects use, so autocannon's connections stay open either way
server.keepAliveTimeout = 72_000;
server.listen(Number(process.env.BENCH_FLOOR_PORT ?? 0), '127.0.0.1', () => {
  const a = server.address();
  process.stdout.write(
    `${JSON.stringify({ event: 'floor_listening', port: typeof a === 'object' && a ? a.port : 0 })}\n`,
  );
});
process.on('SIGTERM', () => {
  server.close();
  server.closeAllConnections();
  process.exit(0);
});
