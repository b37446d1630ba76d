import { readFile } from './fs-async.js';
import { setTimeout as delay } from 'node:timers/promises';
import { pino } from 'pino';
import { buildApiApp } from './api.js';
import { createCredentialProvider } from './aws-credentials.js';
import { parseConfig, type ListenAddress, type SidecarConfig } from './config.js';
import { SIDECAR_ENV } from './env-names.js';
import { ConfigError, StartupError } from './errors.js';
import { buildHealthApp } from './health.js';
import type { Readiness } from './http-common.js';
import type { HttpListener } from './http/listener.js';
import { createLogger, type Logger } from './logger.js';
import { Metrics } from './metrics.js';
import { loginNotReadyReason } from './readiness.js';
import { Refresher } from './refresher.js';
import { generateRequestToken, writeTokenFileAtomic } from './request-token.js';
import { SecretStore } from './secret-store.js';
import { statusSource } from './status.js';
import { TokenManager } from './token-manager.js';
import { VaultClient } from './vault-client.js';
import { VERSION } from './version.js';

export interface RunningSidecar {
  apiAddress: string;
  healthAddress: string;
  log: Logger;
  stop(): Promise<void>;
}

const SHUTDOWN_DEADLINE_MS = 5_000;
/** setTimeout's largest delay; a wait for a first read that long simply starts again */
const MAX_TIMER_MS = 2 ** 31 - 1;

/** Step: the env, or a StartupError naming the variable (exit 2). */
function loadConfig(env: NodeJS.ProcessEnv): SidecarConfig {
  try {
    return parseConfig(env);
  } catch (e) {
    if (e instanceof ConfigError)
      throw new StartupError('config_invalid', e.variable, `invalid configuration: ${e.message}`, 2);
    throw e;
  }
}

/** Step: VAULT_CACERT's PEM, when set; unreadable or not a certificate is a StartupError (exit 2). */
async function readVaultCa(config: SidecarConfig): Promise<string | undefined> {
  if (config.vaultCaCert === undefined) return undefined;
  const name = SIDECAR_ENV.vaultCaCert;
  let pem: string;
  try {
    pem = await readFile(config.vaultCaCert, 'utf8');
  } catch (e) {
    throw new StartupError(
      'config_invalid',
      name,
      `invalid configuration: ${name}: cannot read "${config.vaultCaCert}" (${(e as NodeJS.ErrnoException).code ?? 'error'})`,
      2,
    );
  }
  if (!pem.includes('-----BEGIN CERTIFICATE-----')) {
    throw new StartupError(
      'config_invalid',
      name,
      `invalid configuration: ${name}: "${config.vaultCaCert}" holds no PEM certificate`,
      2,
    );
  }
  return pem;
}

/** What the sidecar runs on: the Vault client, the login, the store and its refresher, bound to one shutdown. */
interface Core {
  metrics: Metrics;
  shutdown: AbortController;
  tokens: TokenManager;
  store: SecretStore;
  refresher: Refresher;
}

/** Step: config → Vault client → token manager (login) → store → refresher. Nothing starts yet. */
function buildCore(config: SidecarConfig, env: NodeJS.ProcessEnv, log: Logger, caPem: string | undefined): Core {
  const metrics = new Metrics();
  const shutdown = new AbortController();
  const vault = new VaultClient({
    addr: config.vaultAddr,
    ...(config.vaultNamespace !== undefined ? { namespace: config.vaultNamespace } : {}),
    ...(caPem !== undefined ? { caPem } : {}),
    timeoutMs: config.vaultTimeoutMs,
    observe: (op, outcome, seconds) => metrics.observeVault(op, outcome, seconds),
    signal: shutdown.signal,
  });
  const tokens = new TokenManager({
    vault,
    credentials: createCredentialProvider(config.aws, config.awsRegion, env),
    role: config.role,
    authMount: config.authMount,
    stsRegion: config.stsRegion,
    ...(config.iamServerId !== undefined ? { iamServerId: config.iamServerId } : {}),
    log,
    metrics,
  });
  const store = new SecretStore(config.secrets, Date.now);
  const refresher = new Refresher({ vault, tokens, store, refreshMs: config.refreshMs, log, metrics });
  return { metrics, shutdown, tokens, store, refresher };
}

/**
 * Ready once every declared secret was read once, and from then on (docs/localhost-api.md): a later outage is
 * served stale and shows in metrics, it does not take the pod out of service.
 */
function readinessOf({ tokens, store }: Core): Readiness {
  let readyOnce = false;
  return {
    notReadyReasons(detail: boolean): string[] {
      if (readyOnce) return [];
      const reasons: string[] = [];
      const login = loginNotReadyReason(
        { loggedIn: tokens.current() !== undefined, lastError: tokens.lastError, lastErrorCode: tokens.lastErrorCode },
        detail,
      );
      if (login !== undefined) reasons.push(login);
      reasons.push(...store.notReadyReasons(detail));
      readyOnce = reasons.length === 0;
      return reasons;
    },
  };
}

/** Step: a fresh request token, written where the app containers read it (exit 1 when it cannot be). */
async function writeRequestToken(config: SidecarConfig): Promise<string> {
  const requestToken = generateRequestToken();
  try {
    await writeTokenFileAtomic(config.tokenFile, requestToken);
  } catch (e) {
    throw new StartupError(
      'token_file_failed',
      SIDECAR_ENV.tokenFile,
      `cannot write ${SIDECAR_ENV.tokenFile} "${config.tokenFile}" (${(e as NodeJS.ErrnoException).code ?? 'error'})`,
      1,
    );
  }
  return requestToken;
}

/** Step: both listeners bound, or everything already started stopped again and a StartupError (exit 1). */
async function bindListeners(
  config: SidecarConfig,
  core: Core,
  api: HttpListener,
  health: HttpListener,
): Promise<{ apiAddress: string; healthAddress: string }> {
  try {
    const apiAddress = await listenOn(api, config.listen, SIDECAR_ENV.listen);
    const healthAddress = await listenOn(health, config.healthListen, SIDECAR_ENV.healthListen);
    return { apiAddress, healthAddress };
  } catch (e) {
    // an in-process caller keeps running: stop the login and reads already under way and close what listens
    core.refresher.stop();
    core.store.close();
    core.shutdown.abort();
    void Promise.allSettled([api.close(), health.close(), core.tokens.stop()]);
    throw e;
  }
}

/** Event-driven: no timer wakes the process; each wait ends on a login or on a secret's first read. */
function announceReady(core: Core, readiness: Readiness, log: Logger, secrets: number): void {
  const { tokens, store, shutdown, metrics } = core;
  void (async () => {
    for (;;) {
      if (shutdown.signal.aborted) return;
      if (readiness.notReadyReasons(false).length === 0) break;
      const unread = store.list().find((e) => e.data === undefined);
      if (tokens.current() === undefined) await tokens.token();
      else if (unread) await store.waitForChange(unread.name, unread.etag as string, MAX_TIMER_MS, shutdown.signal);
      // a reason neither wait covers (none today): look again in a second rather than spin
      else await delay(1000, undefined, { signal: shutdown.signal, ref: false });
    }
    metrics.ready.set(1);
    log.info({ event: 'ready', secrets }, 'every declared secret was read; ready');
  })().catch(() => undefined);
}

/**
 * Wires config → identity → Vault login → store → listeners; returns once both listeners are bound. Fails
 * closed with a StartupError (never exits the process itself: main() does, after the one fatal line).
 */
export async function startSidecar(env: NodeJS.ProcessEnv = process.env): Promise<RunningSidecar> {
  const config = loadConfig(env);
  const log = createLogger(config.logLevel);
  const caPem = await readVaultCa(config);
  const core = buildCore(config, env, log, caPem);
  const readiness = readinessOf(core);
  const requestToken = await writeRequestToken(config);

  // Log in while the listeners come up: the STS and Vault round trips dominate start-to-ready.
  core.tokens.start();
  core.refresher.start();
  const status = statusSource({
    store: core.store,
    tokens: core.tokens,
    config,
    version: VERSION,
    hostname: env.HOSTNAME,
  });
  const api = buildApiApp({ store: core.store, requestToken, readiness, metrics: core.metrics, status });
  const health = buildHealthApp({ readiness, metrics: core.metrics });
  const { apiAddress, healthAddress } = await bindListeners(config, core, api, health);
  log.info(
    {
      event: 'started',
      version: VERSION,
      api: apiAddress,
      health: healthAddress,
      vaultAddr: config.vaultAddr,
      role: config.role,
      authMount: config.authMount,
      stsRegion: config.stsRegion,
      identity: config.aws.kind,
      secrets: config.secrets.map((s) => s.name),
    },
    'vault-irsa sidecar listening',
  );
  announceReady(core, readiness, log, config.secrets.length);

  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> =>
    (stopping ??= (async () => {
      core.refresher.stop();
      // listeners first: from here new requests get 503 and each waiting long poll its 304 on a closing connection
      const closed = Promise.allSettled([api.close(), health.close()]);
      core.store.close();
      core.shutdown.abort();
      // revoking needs no listener: both run at once inside the shutdown deadline
      await Promise.allSettled([closed, core.tokens.stop()]);
    })());
  return { apiAddress, healthAddress, log, stop };
}

async function listenOn(app: HttpListener, addr: ListenAddress, variable: string): Promise<string> {
  try {
    await app.listen({ host: addr.host, port: addr.port });
  } catch (e) {
    throw new StartupError(
      'listen_failed',
      variable,
      `cannot listen on ${variable}=${addr.host}:${addr.port} (${(e as NodeJS.ErrnoException).code ?? 'error'})`,
      1,
    );
  }
  return app.address() ?? `${addr.host}:${addr.port}`;
}

/**
 * The process: start, then on SIGTERM/SIGINT stop serving, revoke the token (bounded) and exit 0. A start that
 * fails closed prints one fatal JSON line on stderr naming the variable, and exits with the error's code.
 */
export async function main(env: NodeJS.ProcessEnv = process.env): Promise<void> {
  let running: RunningSidecar;
  try {
    running = await startSidecar(env);
  } catch (e) {
    if (!(e instanceof StartupError)) throw e;
    createLogger('info', pino.destination({ dest: 2, sync: true })).fatal(
      { event: e.code, variable: e.variable },
      e.message,
    );
    process.exit(e.exitCode);
  }
  const { log } = running;
  process.on('unhandledRejection', (reason) => {
    log.error(
      { event: 'unhandled_rejection', err: (reason as Error)?.message ?? String(reason) },
      'unhandled rejection',
    );
  });
  let signalled = false;
  const onSignal = (signal: NodeJS.Signals): void => {
    if (signalled) return;
    signalled = true;
    const deadline = setTimeout(() => process.exit(0), SHUTDOWN_DEADLINE_MS);
    deadline.unref();
    void running
      .stop()
      .catch(() => undefined)
      .finally(() => {
        log.info({ event: 'stopped', signal }, 'vault-irsa sidecar stopped');
        process.exit(0);
      });
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
}
