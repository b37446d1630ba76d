import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/**
 * Shared by the tests that run a V8 case for real in a child node (response-shape, tick-shape): the built modules
 * they load, the two programs' servers set up as source text, and the child run with natives syntax and gc().
 */
export const dist = (p: string): string => fileURLToPath(new URL(`../../../dist/${p}`, import.meta.url));

/** Declares `cert` and `app`, the webhook's fastify server (built by buildServer, not listening). */
export const WEBHOOK_SERVER_SOURCE = `
  const { buildServer } = await import(${JSON.stringify(dist('webhook/server.js'))});
  const { createLogger } = await import(${JSON.stringify(dist('webhook/logger.js'))});
  const { createMetrics } = await import(${JSON.stringify(dist('webhook/metrics.js'))});
  const { makeTestCert } = await import(${JSON.stringify(dist('stand-ins/tls.js'))});
  const cert = await makeTestCert();
  const app = buildServer({ logger: createLogger('silent'), metrics: createMetrics(), tls: cert, maxBodyBytes: 1 << 20,
    maxConnections: 8, review: async () => { throw new Error('no reviews here'); }, ready: () => true });
`;

/** Declares `listener`, an HttpListener (both sidecar listeners' class) answering with `handle`, defined before. */
export const LISTENER_SOURCE = `
  const { HttpListener } = await import(${JSON.stringify(dist('sidecar/http/listener.js'))});
  const listener = new HttpListener(handle, { maxConnections: 8, headersTimeoutMs: 5000, requestTimeoutMs: 5000,
    keepAliveTimeoutMs: 5000, checkIntervalMs: 5000, maxHeaderSize: 8192 });
`;

/** Runs `driver` (an ES module's text) with `mode` as its argument; returns what it printed. */
export function runV8Case(driver: string, mode: string): string {
  const r = spawnSync(
    process.execPath,
    ['--allow-natives-syntax', '--expose-gc', '--input-type=module', '-e', driver, mode],
    { encoding: 'utf8', timeout: 20_000 },
  );
  if (r.status !== 0) throw new Error(`driver exited ${r.status}: ${r.stderr}`);
  return r.stdout;
}
