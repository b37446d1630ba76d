/** The webhook's pino logger and the one line per review it writes. */
import { pino, type Logger } from 'pino';
import { VERSION } from '../sidecar/version.js';
import { turnWriter } from './log-writer.js';

/** Paths pino must never print, should anything credential-like reach a log object. */
export const REDACT = [
  'req.headers.authorization',
  'req.headers.cookie',
  '*.token',
  '*.key',
  '*.password',
  '*.secret',
  '*.client_token',
  'headers.authorization',
];
const CENSOR = '[redacted]';

export function createLogger(level: string, destination?: NodeJS.WritableStream): Logger {
  const opts = {
    level,
    base: { service: 'vault-irsa-webhook', version: VERSION },
    redact: { paths: REDACT, censor: CENSOR },
  };
  // stdout written from the event loop, the lines of each turn together (log-writer.ts)
  return destination ? pino(opts, destination as pino.DestinationStream) : pino(opts, turnWriter(1));
}

/** What the per-review line carries: flat, every value a string or a number (no object to hide a credential in). */
export type AdmissionLogFields = Record<string, string | number | undefined>;

/**
 * The logger for the one line each review writes. A `*.name` redact path sends every top-level value of every
 * line through pino's redactor (a clone-and-walk, 8 us a line here, a few percent of a review); such a path
 * can only match inside a nested object, and this line has none, so here only the literal paths apply. The
 * root logger, for everything else, keeps them all.
 */
export function admissionLogger(root: Logger): (level: 'info' | 'error', fields: AdmissionLogFields) => void {
  const log = root.child({}, { redact: { paths: REDACT.filter((p) => !p.startsWith('*.')), censor: CENSOR } });
  return (level, fields) => log[level](fields, 'admission');
}
