/**
 * Wires config, TLS, ServiceAccount cache, metrics and server together, and owns the process lifecycle:
 * SIGTERM/SIGINT mark the webhook not ready, stop accepting connections, let in-flight reviews finish,
 * then exit 0.
 */
import { readFileSync } from 'node:fs';
import type { Logger } from 'pino';
import { review, type ReviewDeps } from './admission.js';
import { ConfigError, loadWebhookConfig, type WebhookConfig } from './config.js';
import { createMetrics, observeCertificate, type WebhookMetrics } from './metrics.js';
import { buildServer, type WebhookServer } from './server.js';
import { createLogger } from './logger.js';
import { kubeConfigAvailable, loadKubeConnection, SERVICEACCOUNT_DIR, type KubeConnection } from './kube-connection.js';
import type { ServiceAccountCache } from './service-accounts.js';
import { kubeRequester } from './kube-rest.js';
import { loadTlsPair, TlsError, TlsReloader, type TlsPair } from './tls.js';
import { AutoTls } from './tls-auto.js';

export interface RunningWebhook {
  config: WebhookConfig;
  port: number;
  server: WebhookServer;
  metrics: WebhookMetrics;
  /** graceful: in-flight requests finish */
  close(): Promise<void>;
}

/** TLS mode auto: the certificate manager, before anything listens; a missing prerequisite is a TlsError. */
async function createAutoTls(
  config: WebhookConfig,
  env: Record<string, string | undefined>,
  logger: Logger,
  metrics: WebhookMetrics,
  apply: (pair: TlsPair) => void,
  connection: () => Promise<KubeConnection>,
  serviceAccountDir: string,
): Promise<AutoTls> {
  const auto = config.tlsAuto;
  if (!auto) throw new TlsError('tls mode auto without its settings');
  if (!kubeConfigAvailable(env, serviceAccountDir)) {
    throw new TlsError(
      'tls mode auto needs the Kubernetes API, and no configuration was found (in-cluster ServiceAccount token, KUBECONFIG, ~/.kube/config)',
    );
  }
  let namespace = auto.namespace;
  if (namespace === undefined) {
    try {
      namespace = readFileSync(`${serviceAccountDir}/namespace`, 'utf8').trim();
    } catch {
      throw new TlsError(
        `tls mode auto: set VAULT_IRSA_WEBHOOK_NAMESPACE (${serviceAccountDir}/namespace is not readable)`,
      );
    }
  }
  const svc = auto.serviceName;
  return new AutoTls({
    request: kubeRequester(await connection(), Math.max(config.kubeTimeoutMs, 5000)),
    namespace,
    secretName: auto.secretName,
    webhookConfigurationName: auto.webhookConfigurationName,
    policy: {
      validityMs: auto.validityMs,
      renewBeforeMs: auto.renewBeforeMs,
      overlapMs: auto.overlapMs,
      dnsNames: [svc, `${svc}.${namespace}`, `${svc}.${namespace}.svc`, `${svc}.${namespace}.svc.cluster.local`],
    },
    intervalMs: auto.intervalMs,
    apply,
    onEvent: (e) => {
      if (e.level === 'warn') metrics.tlsReloads.inc({ result: 'error' });
      logger[e.level]({ tlsMode: 'auto' }, e.message);
    },
  });
}

export async function startWebhook(
  env: Record<string, string | undefined>,
  opts: { logger?: Logger; kubePathPrefix?: string } = {},
): Promise<RunningWebhook> {
  const config = loadWebhookConfig(env);
  // tests point the in-cluster files (/var/run/secrets/kubernetes.io/serviceaccount/...) at a temporary directory
  const prefix = opts.kubePathPrefix ?? '';
  const serviceAccountDir = `${prefix}${SERVICEACCOUNT_DIR}`;
  // one connection for the TLS manager and the ServiceAccount cache: one token file reader, one client-node
  // load when a kubeconfig is what configures it
  let conn: Promise<KubeConnection> | undefined;
  const connection = (): Promise<KubeConnection> =>
    (conn ??= loadKubeConnection(env, { pathPrefix: prefix }).catch((err: unknown) => {
      throw new ConfigError('the Kubernetes API configuration', `is not usable: ${(err as Error).message}`);
    }));
  const logger = opts.logger ?? createLogger(config.logLevel);
  const metrics = createMetrics();
  // the server does not exist yet when the first certificate is made; later ones go to it
  let applyPair: (pair: TlsPair) => void = () => undefined;
  const autoTls =
    config.tlsMode === 'auto'
      ? await createAutoTls(config, env, logger, metrics, (pair) => applyPair(pair), connection, serviceAccountDir)
      : undefined;
  const tls = autoTls ? await autoTls.start() : await loadTlsPair(config.tlsCertFile, config.tlsKeyFile);
  observeCertificate(metrics, tls.cert);

  let saCache: ServiceAccountCache | undefined;
  if (config.kubernetes === 'auto') {
    if (kubeConfigAvailable(env, serviceAccountDir)) {
      // imported here: a webhook run with the API off loads none of the list/watch code
      const { ServiceAccountCache } = await import('./service-accounts.js');
      saCache = new ServiceAccountCache({
        connection: await connection(),
        getTimeoutMs: config.kubeTimeoutMs,
        onLookup: (result) => metrics.serviceAccountLookups.inc({ result }),
        onInformerError: (message) =>
          logger.warn({ error: message }, 'ServiceAccount watch failed; retrying (lookups fall back to GET)'),
      });
      void saCache.start();
    } else {
      logger.warn(
        'no Kubernetes configuration found (KUBECONFIG, ~/.kube/config, in-cluster); ServiceAccounts are not read',
      );
    }
  }

  const deps: ReviewDeps = {
    defaults: config,
    ...(saCache ? { lookupServiceAccount: (ns: string, name: string) => saCache.lookup(ns, name) } : {}),
  };
  let ready = false;
  const server = buildServer({
    logger,
    metrics,
    tls,
    maxBodyBytes: config.maxBodyBytes,
    maxConnections: config.maxConnections,
    review: (raw) => review(raw, deps),
    ready: () => ready,
  });

  applyPair = (pair) => {
    server.server.setSecureContext({ cert: pair.cert, key: pair.key });
    observeCertificate(metrics, pair.cert);
    metrics.tlsReloads.inc({ result: 'ok' });
    logger.info({ tlsMode: 'auto', notAfter: autoTls?.servingNotAfter }, 'TLS certificate switched');
  };
  // files mode only: in auto mode the certificate comes from the Secret, through autoTls
  const reloader = autoTls
    ? undefined
    : new TlsReloader({
        certFile: config.tlsCertFile,
        keyFile: config.tlsKeyFile,
        initial: tls,
        pollIntervalMs: config.tlsPollIntervalMs,
        // new connections get the new pair; established ones keep theirs, so nothing is dropped
        apply: (pair) => {
          server.server.setSecureContext({ cert: pair.cert, key: pair.key });
          observeCertificate(metrics, pair.cert);
        },
        onResult: (result, message) => {
          metrics.tlsReloads.inc({ result });
          if (result === 'ok') logger.info({ certFile: config.tlsCertFile }, 'TLS certificate reloaded');
          else logger.warn({ error: message }, 'TLS certificate change not applied; keeping the current one');
        },
      });

  await server.listen({ port: config.port, host: config.listenHost });
  reloader?.start();
  autoTls?.startLoop();
  ready = true;
  const address = server.server.address();
  const port = typeof address === 'object' && address ? address.port : config.port;
  logger.info(
    { port, host: config.listenHost, kubernetes: saCache ? 'on' : 'off', tlsMode: config.tlsMode },
    'listening',
  );

  let closing: Promise<void> | undefined;
  const close = (): Promise<void> => {
    closing ??= (async () => {
      ready = false;
      reloader?.stop();
      await autoTls?.stop();
      await server.close();
      await saCache?.stop();
    })();
    return closing;
  };
  return { config, port, server, metrics, close };
}

/** The CLI: one line on stderr for a bad configuration; exit code 1. */
export async function runMain(
  env: Record<string, string | undefined> = process.env,
  opts: { kubePathPrefix?: string } = {},
): Promise<void> {
  let running: RunningWebhook;
  try {
    running = await startWebhook(env, opts);
  } catch (err) {
    if (err instanceof ConfigError || err instanceof TlsError) {
      process.stderr.write(`vault-irsa-webhook: ${err.message}\n`);
      process.exitCode = 1;
      return;
    }
    if ((err as NodeJS.ErrnoException).code === 'EADDRINUSE' || (err as NodeJS.ErrnoException).code === 'EACCES') {
      process.stderr.write(`vault-irsa-webhook: cannot listen: ${(err as Error).message}\n`);
      process.exitCode = 1;
      return;
    }
    throw err;
  }
  const shutdown = (signal: string): void => {
    running.server.log.info({ signal }, 'shutting down: finishing in-flight requests');
    running.close().then(
      () => {
        running.server.log.info('stopped');
        process.exit(0);
      },
      (err: unknown) => {
        process.stderr.write(`vault-irsa-webhook: shutdown failed: ${(err as Error).message}\n`);
        process.exit(1);
      },
    );
  };
  process.once('SIGTERM', () => shutdown('SIGTERM'));
  process.once('SIGINT', () => shutdown('SIGINT'));
}
