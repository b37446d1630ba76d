import { pino, type Logger, type DestinationStream } from 'pino';

export type { Logger };

/**
 * Every field name that can carry a credential, at the top level and one level down. Code never passes
 * these on purpose; redact is the second guard.
 */
const SENSITIVE = [
  'token',
  'client_token',
  'clientToken',
  'accessor',
  'authorization',
  'Authorization',
  'X-Vault-Token',
  'x-vault-token',
  'secretAccessKey',
  'SecretAccessKey',
  'sessionToken',
  'SessionToken',
  'accessKeyId',
  'AccessKeyId',
  'credentials',
  'data',
  'value',
  'secret',
  'password',
  'requestToken',
  'webIdentityToken',
  'iam_request_headers',
];

const REDACT_PATHS = [...SENSITIVE, ...SENSITIVE.map((k) => `*.${k}`), 'headers.*', 'req.headers.*'];

export function createLogger(level: string, destination?: DestinationStream): Logger {
  return pino(
    {
      level,
      base: { name: 'vault-irsa-sidecar' },
      redact: { paths: REDACT_PATHS, censor: '[redacted]' },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
    },
    destination,
  );
}
