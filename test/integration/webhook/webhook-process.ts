/** Starts the built webhook (dist/bin/vault-irsa-webhook.js) as a child process and talks HTTPS to it. */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { request } from 'node:https';
import { fileURLToPath } from 'node:url';
import type { TLSSocket } from 'node:tls';

export const BIN = fileURLToPath(new URL('../../../dist/bin/vault-irsa-webhook.js', import.meta.url));

export function requireBuild(): void {
  if (!existsSync(BIN))
    throw new Error(`${BIN} is missing: run \`npx tsc -p tsconfig.build.json\` (npm test builds first)`);
}

export interface WebhookProcess {
  child: ChildProcess;
  port: number;
  logs: Array<Record<string, unknown>>;
  stderr: () => string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  stop(): Promise<void>;
}

export async function waitFor(
  check: () => boolean | Promise<boolean>,
  what: string,
  timeoutMs = 20_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`timed out waiting for ${what}`);
}

export function runToExit(
  env: Record<string, string>,
): Promise<{ code: number | null; stderr: string; stdout: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [BIN], {
      env: { PATH: process.env.PATH ?? '', HOME: '/nonexistent', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    let stdout = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.on('exit', (code) => resolve({ code, stderr, stdout }));
  });
}

/** `argv` replaces the built binary as node's arguments (a driver script, loader flags). */
export async function startWebhookProcess(
  env: Record<string, string>,
  argv: string[] = [BIN],
): Promise<WebhookProcess> {
  requireBuild();
  const child = spawn(process.execPath, argv, {
    // HOME without ~/.kube/config, so `auto` only finds a cluster through KUBECONFIG when a test gives one
    env: {
      PATH: process.env.PATH ?? '',
      HOME: '/nonexistent',
      VAULT_IRSA_WEBHOOK_PORT: '0',
      VAULT_IRSA_WEBHOOK_LISTEN_HOST: '127.0.0.1',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const logs: Array<Record<string, unknown>> = [];
  let err = '';
  let buf = '';
  child.stdout?.on('data', (d: Buffer) => {
    buf += d.toString();
    let i: number;
    while ((i = buf.indexOf('\n')) !== -1) {
      const line = buf.slice(0, i);
      buf = buf.slice(i + 1);
      try {
        logs.push(JSON.parse(line) as Record<string, unknown>);
      } catch {
        logs.push({ raw: line });
      }
    }
  });
  child.stderr?.on('data', (d: Buffer) => (err += d.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on('exit', (code, signal) => resolve({ code, signal })),
  );
  let exitedYet = false;
  void exited.then(() => (exitedYet = true));
  await waitFor(() => exitedYet || logs.some((l) => l.msg === 'listening'), 'the webhook to listen');
  if (exitedYet) throw new Error(`webhook exited at start: ${err}`);
  const port = Number(logs.find((l) => l.msg === 'listening')?.port);
  return {
    child,
    port,
    logs,
    exited,
    stderr: () => err,
    async stop() {
      if (!exitedYet) child.kill('SIGKILL');
      await exited;
    },
  };
}

export interface HttpsAnswer {
  status: number;
  body: string;
  json: () => Record<string, unknown>;
  fingerprint256: string;
}

/** One request on a fresh connection (no agent), trusting only `ca`. */
export function httpsRequest(
  port: number,
  ca: string,
  opts: { method?: string; path: string; body?: string | Buffer; headers?: Record<string, string> },
): Promise<HttpsAnswer> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port,
        method: opts.method ?? 'GET',
        path: opts.path,
        ca,
        agent: false,
        headers: opts.headers,
        timeout: 15_000,
      },
      (res) => {
        const fingerprint256 = (res.socket as TLSSocket).getPeerCertificate().fingerprint256;
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const body = Buffer.concat(chunks).toString('utf8');
          resolve({
            status: res.statusCode ?? 0,
            body,
            json: () => JSON.parse(body) as Record<string, unknown>,
            fingerprint256,
          });
        });
      },
    );
    req.on('timeout', () => req.destroy(new Error('request timed out')));
    req.on('error', reject);
    if (opts.body !== undefined) req.write(opts.body);
    req.end();
  });
}

export function postReview(port: number, ca: string, review: unknown): Promise<HttpsAnswer> {
  return httpsRequest(port, ca, {
    method: 'POST',
    path: '/mutate',
    body: JSON.stringify(review),
    headers: { 'content-type': 'application/json' },
  });
}
