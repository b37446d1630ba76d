/**
 * `vault-irsa-sidecar status`: what the running sidecar holds and how it is doing, for an operator running
 * `kubectl exec <pod> -c vault-irsa -- vault-irsa-sidecar status`.
 *
 * Three parts, each with one job:
 *  - buildStatus: pure, (store, token state, config) → a JSON object of names, paths, versions, times and
 *    error codes. It copies fields one by one into a new object, so a secret's data, the Vault token, the
 *    request token or an AWS key cannot reach it by accident.
 *  - renderStatusTable: pure, that object → the human-readable table.
 *  - runStatus: the CLI. It asks the running sidecar over loopback (GET /v1/status with the request token):
 *    the distroless image has no shell and no curl, and only the running process knows its state.
 * The route serving buildStatus lives on the loopback API only, under /v1/ (token required); the pod-IP
 * listener never serves it.
 */
import { request } from 'node:http';
import { readFile } from './fs-async.js';
import { parseListen, type AwsIdentity, type SidecarConfig } from './config.js';
import { parseDuration } from './duration.js';
import { SIDECAR_DEFAULTS, SIDECAR_ENV } from './env-names.js';
import type { SecretStore } from './secret-store.js';
import type { TokenState } from './token-manager.js';
import { sessionNameFor } from './aws-credentials.js';

export const STATUS_PATH = '/v1/status';

export interface SecretStatus {
  name: string;
  path: string;
  /** KV v2 version, else a counter of changes this process saw; 0 before the first read */
  version: number;
  /** when the value last changed (ISO), null before the first read */
  updatedAt: string | null;
  /** seconds since updatedAt */
  ageSeconds: number | null;
  /** has a value to serve */
  ready: boolean;
  stale: boolean;
  /** the last failed read's code (vault_permission_denied, secret_not_found, vault_unavailable); null when the last read worked */
  lastError: string | null;
  leaseSeconds: number;
}

export interface SidecarStatus {
  version: string;
  generatedAt: string;
  ready: boolean;
  vault: { addr: string; namespace: string | null; role: string; authMount: string; stsRegion: string };
  aws:
    | { identity: 'web-identity'; roleArn: string; sessionName: string }
    | { identity: 'pod-identity'; credentialsUri: string };
  token: {
    loggedIn: boolean;
    /** seconds until the Vault token expires; null when not logged in or the token has no TTL */
    ttlSeconds: number | null;
    expiresAt: string | null;
    /** what the token manager does next (renew, or log in again) and when */
    nextAction: 'renew' | 'login' | null;
    nextActionAt: string | null;
    nextActionInSeconds: number | null;
    lastLoginAt: string | null;
    /** why the last login failed (Vault's or STS's message, as /readyz shows it) */
    lastLoginError: string | null;
  };
  secrets: SecretStatus[];
}

export interface StatusInputs {
  store: Pick<SecretStore, 'list'>;
  tokens: { state(): TokenState };
  config: Pick<SidecarConfig, 'vaultAddr' | 'vaultNamespace' | 'role' | 'authMount' | 'stsRegion' | 'aws'>;
  version: string;
  /** HOSTNAME, from which the sidecar derives the default STS session name */
  hostname?: string | undefined;
  now: number;
}

const iso = (ms: number | undefined): string | null => (ms === undefined ? null : new Date(ms).toISOString());
const secondsUntil = (ms: number | undefined, now: number): number | null =>
  ms === undefined ? null : Math.max(0, Math.round((ms - now) / 1000));

function awsOf(identity: AwsIdentity, hostname: string | undefined): SidecarStatus['aws'] {
  if (identity.kind === 'web-identity') {
    return {
      identity: 'web-identity',
      roleArn: identity.roleArn,
      sessionName: identity.sessionName ?? sessionNameFor(hostname),
    };
  }
  return { identity: 'pod-identity', credentialsUri: identity.fullUri };
}

/** Pure. Every field is copied explicitly: nothing holding a value or a token is spread into the result. */
export function buildStatus(i: StatusInputs): SidecarStatus {
  const t = i.tokens.state();
  const secrets = i.store.list().map((e): SecretStatus => {
    const updated = e.updatedAt === undefined ? undefined : Date.parse(e.updatedAt);
    return {
      name: e.name,
      path: e.path,
      version: e.version,
      updatedAt: e.updatedAt ?? null,
      ageSeconds:
        updated === undefined || Number.isNaN(updated) ? null : Math.max(0, Math.round((i.now - updated) / 1000)),
      ready: e.data !== undefined,
      stale: e.stale,
      lastError: e.failure?.code ?? null,
      leaseSeconds: e.leaseDuration,
    };
  });
  return {
    version: i.version,
    generatedAt: new Date(i.now).toISOString(),
    ready: t.loggedIn && secrets.every((s) => s.ready),
    vault: {
      addr: i.config.vaultAddr,
      namespace: i.config.vaultNamespace ?? null,
      role: i.config.role,
      authMount: i.config.authMount,
      stsRegion: i.config.stsRegion,
    },
    aws: awsOf(i.config.aws, i.hostname),
    token: {
      loggedIn: t.loggedIn,
      ttlSeconds: secondsUntil(t.expiresAt, i.now),
      expiresAt: iso(t.expiresAt),
      nextAction: t.nextAction ?? null,
      nextActionAt: iso(t.nextActionAt),
      nextActionInSeconds: secondsUntil(t.nextActionAt, i.now),
      lastLoginAt: iso(t.lastLoginAt),
      lastLoginError: t.lastError ?? null,
    },
    secrets,
  };
}

/** The route's data source: called per request, so the answer is as of that moment. */
export function statusSource(o: Omit<StatusInputs, 'now'> & { now?: () => number }): () => SidecarStatus {
  const now = o.now ?? Date.now;
  return () => buildStatus({ ...o, now: now() });
}

/** 3725 → "1h2m5s"; null → "-". */
export function formatSeconds(s: number | null): string {
  if (s === null) return '-';
  if (s < 60) return `${s}s`;
  const d = Math.floor(s / 86400);
  const h = Math.floor((s % 86400) / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = s % 60;
  if (d > 0) return `${d}d${h}h`;
  if (h > 0) return `${h}h${m}m`;
  return `${m}m${sec}s`;
}

function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => (r[c] ?? '').length)));
  return rows
    .map((r) =>
      r
        .map((cell, c) => (c === r.length - 1 ? cell : cell.padEnd(widths[c]!)))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

/** Pure: the status as the table `vault-irsa-sidecar status` prints. */
export function renderStatusTable(s: SidecarStatus): string {
  const lines: string[] = [];
  lines.push(`vault-irsa sidecar ${s.version}: ${s.ready ? 'ready' : 'NOT READY'}`);
  const ns = s.vault.namespace === null ? '' : `, namespace ${s.vault.namespace}`;
  lines.push(
    `Vault:     ${s.vault.addr} (role ${s.vault.role}, auth mount ${s.vault.authMount}, STS region ${s.vault.stsRegion}${ns})`,
  );
  lines.push(
    s.aws.identity === 'web-identity'
      ? `AWS:       IRSA role ${s.aws.roleArn}, session ${s.aws.sessionName}`
      : `AWS:       EKS Pod Identity from ${s.aws.credentialsUri}`,
  );
  const t = s.token;
  if (t.loggedIn) {
    const ttl = t.ttlSeconds === null ? 'no expiry' : `expires in ${formatSeconds(t.ttlSeconds)} (${t.expiresAt})`;
    const next =
      t.nextAction === null
        ? 'none scheduled'
        : `${t.nextAction === 'renew' ? 'renewal' : 'new login'} in ${formatSeconds(t.nextActionInSeconds)} (${t.nextActionAt})`;
    lines.push(`Token:     logged in; ${ttl}; next ${next}`);
  } else {
    lines.push(`Token:     NOT LOGGED IN${t.lastLoginError ? `: ${t.lastLoginError}` : ''}`);
  }
  lines.push('');
  if (s.secrets.length === 0) {
    lines.push('No secrets declared.');
  } else {
    const rows = [['SECRET', 'PATH', 'VERSION', 'AGE', 'STALE', 'LAST ERROR']];
    for (const e of s.secrets) {
      rows.push([
        e.name,
        e.path,
        e.ready ? String(e.version) : '-',
        formatSeconds(e.ageSeconds),
        e.stale ? 'STALE' : e.ready ? 'no' : 'not read',
        e.lastError ?? '-',
      ]);
    }
    lines.push(table(rows));
  }
  return `${lines.join('\n')}\n`;
}

/** What the CLI checks before rendering: an answer that is not a status is an error, not a half-printed table. */
function isSidecarStatus(v: unknown): v is SidecarStatus {
  const o = v as Partial<SidecarStatus> | null;
  return (
    typeof o === 'object' &&
    o !== null &&
    typeof o.version === 'string' &&
    typeof o.ready === 'boolean' &&
    typeof o.vault === 'object' &&
    o.vault !== null &&
    typeof o.aws === 'object' &&
    o.aws !== null &&
    typeof o.token === 'object' &&
    o.token !== null &&
    Array.isArray(o.secrets)
  );
}

export interface StatusCliIo {
  stdout: (s: string) => void;
  stderr: (s: string) => void;
}

const USAGE = 'usage: vault-irsa-sidecar status [--json] [--timeout=5s]';
const LOOPBACK = /^(127\.\d+\.\d+\.\d+|::1|localhost)$/;

interface StatusArgs {
  json: boolean;
  timeoutMs: number;
}

export function parseStatusArgs(args: string[]): StatusArgs | string {
  let json = false;
  let timeoutMs = 5000;
  for (const a of args) {
    if (a === '--json') json = true;
    else if (a.startsWith('--timeout=')) {
      const ms = parseDuration(a.slice('--timeout='.length));
      if (ms === undefined || ms <= 0)
        return `--timeout: "${a.slice('--timeout='.length)}" is not a duration (e.g. 5s)`;
      timeoutMs = ms;
    } else return `unknown argument "${a}"`;
  }
  return { json, timeoutMs };
}

function get(
  host: string,
  port: number,
  path: string,
  token: string,
  timeoutMs: number,
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(
      { host, port, path, method: 'GET', headers: { authorization: `Bearer ${token}` }, timeout: timeoutMs },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', reject);
      },
    );
    req.on('timeout', () =>
      req.destroy(Object.assign(new Error(`no answer within ${timeoutMs} ms`), { code: 'ETIMEDOUT' })),
    );
    req.on('error', reject);
    req.end();
  });
}

/**
 * The CLI. The port comes from VAULT_IRSA_LISTEN and the request token from VAULT_IRSA_TOKEN_FILE, which the
 * sidecar container's env already holds. Exit codes: 0 printed, 1 the sidecar could not be asked or refused,
 * 2 usage or configuration. Messages name what failed, never the token.
 */
export async function runStatus(
  args: string[],
  env: NodeJS.ProcessEnv = process.env,
  io: StatusCliIo = {
    stdout: (s) => process.stdout.write(s),
    stderr: (s) => process.stderr.write(s),
  },
): Promise<number> {
  const parsed = parseStatusArgs(args);
  if (typeof parsed === 'string') {
    io.stderr(`vault-irsa-sidecar status: ${parsed}\n${USAGE}\n`);
    return 2;
  }
  let host: string;
  let port: number;
  try {
    const listen = parseListen(SIDECAR_ENV.listen, env[SIDECAR_ENV.listen]?.trim() || SIDECAR_DEFAULTS.listen);
    // the API listens on loopback; any other host is asked on 127.0.0.1, never over the pod network
    host = LOOPBACK.test(listen.host) ? listen.host : '127.0.0.1';
    port = listen.port;
  } catch (e) {
    io.stderr(`vault-irsa-sidecar status: ${(e as Error).message}\n`);
    return 2;
  }
  const tokenFile = env[SIDECAR_ENV.tokenFile]?.trim() || SIDECAR_DEFAULTS.tokenFile;
  let token: string;
  try {
    token = (await readFile(tokenFile, 'utf8')).trim();
  } catch (e) {
    io.stderr(
      `vault-irsa-sidecar status: cannot read the request token from ${SIDECAR_ENV.tokenFile}=${tokenFile} (${(e as NodeJS.ErrnoException).code ?? 'error'}); is the sidecar running?\n`,
    );
    return 1;
  }
  let answer: { status: number; body: string };
  try {
    answer = await get(host, port, STATUS_PATH, token, parsed.timeoutMs);
  } catch (e) {
    io.stderr(
      `vault-irsa-sidecar status: cannot reach the sidecar at http://${host.includes(':') ? `[${host}]` : host}:${port} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})\n`,
    );
    return 1;
  }
  let body: unknown;
  try {
    body = JSON.parse(answer.body);
  } catch {
    body = undefined;
  }
  if (answer.status !== 200 || !isSidecarStatus(body)) {
    const err = (body as { error?: { code?: unknown; message?: unknown } } | undefined)?.error;
    const why = err && typeof err.code === 'string' ? `${err.code}: ${String(err.message)}` : 'not a status answer';
    io.stderr(`vault-irsa-sidecar status: the sidecar answered ${answer.status} (${why})\n`);
    return 1;
  }
  io.stdout(parsed.json ? `${JSON.stringify(body, null, 2)}\n` : renderStatusTable(body));
  return 0;
}
