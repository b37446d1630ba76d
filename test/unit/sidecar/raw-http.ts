/** Raw HTTP/1.1 over node:net: requests exactly as written, bytes exactly as answered. */
import { connect } from 'node:net';

export interface RawAnswer {
  /** every byte the server sent, as latin1 (a byte per char: grep-able for planted values) */
  raw: string;
  /** from the status line; undefined when nothing came back */
  status: number | undefined;
  headers: Record<string, string>;
  body: string;
}

/**
 * Sends `bytes`, half-closes, collects the answer until the server closes. `limitMs` only bounds a test
 * that would otherwise hang; it is not an assertion.
 */
export function rawRequest(
  port: number,
  bytes: string | Buffer,
  opts: { host?: string; limitMs?: number } = {},
): Promise<RawAnswer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    const socket = connect({ port, host: opts.host ?? '127.0.0.1' }, () => socket.end(bytes));
    const limit = setTimeout(() => socket.destroy(), opts.limitMs ?? 5000);
    socket.on('data', (c: Buffer) => chunks.push(c));
    socket.on('error', (e: NodeJS.ErrnoException) => {
      // a reset after the answer arrived still leaves the answer to look at
      if (e.code !== 'ECONNRESET' && e.code !== 'EPIPE') reject(e);
    });
    socket.on('close', () => {
      clearTimeout(limit);
      resolve(parseAnswer(Buffer.concat(chunks).toString('latin1')));
    });
  });
}

export function parseAnswer(raw: string): RawAnswer {
  const m = /^HTTP\/1\.[01] (\d{3})/.exec(raw);
  const end = raw.indexOf('\r\n\r\n');
  const headers: Record<string, string> = {};
  for (const line of (end === -1 ? raw : raw.slice(0, end)).split('\r\n').slice(1)) {
    const i = line.indexOf(':');
    if (i > 0) headers[line.slice(0, i).toLowerCase()] = line.slice(i + 1).trim();
  }
  return { raw, status: m ? Number(m[1]) : undefined, headers, body: end === -1 ? '' : raw.slice(end + 4) };
}

/** A request as bytes; `headers` in order, undefined values left out. */
export function requestBytes(method: string, target: string, headers: Array<[string, string | undefined]>): string {
  let s = `${method} ${target} HTTP/1.1\r\n`;
  for (const [k, v] of headers) if (v !== undefined) s += `${k}: ${v}\r\n`;
  return `${s}\r\n`;
}
