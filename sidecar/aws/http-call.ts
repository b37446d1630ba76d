/**
 * One HTTP(S) exchange for the credential calls (STS, the EKS Pod Identity agent), on node:http/node:https:
 * a deadline for the whole exchange, a cap on the answer's size, a fresh connection each time (one call an
 * hour keeps no idle socket open). The thin I/O shell; the callers' logic is pure.
 */
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { VaultIrsaError } from '../errors.js';
import { VERSION } from '../version.js';

export interface HttpAnswer {
  status: number;
  body: string;
}

export interface HttpCall {
  method: 'GET' | 'POST';
  headers: Record<string, string>;
  body?: string;
  /** for the whole exchange: connect, send, the full answer */
  timeoutMs: number;
  /** a longer answer is refused */
  maxBytes: number;
}

export type HttpSend = (url: URL, call: HttpCall) => Promise<HttpAnswer>;

/** A failed exchange: out of time or too large (`awsCode`, as the SDK names them), or a socket error (`errno`). */
export class HttpCallError extends VaultIrsaError {
  override readonly name = 'HttpCallError';
  readonly awsCode: 'TimeoutError' | 'ResponseTooLarge' | undefined;
  readonly errno: string | undefined;
  constructor(message: string, why: { awsCode?: 'TimeoutError' | 'ResponseTooLarge'; errno?: string | undefined }) {
    super('aws_http_failed', message);
    this.awsCode = why.awsCode;
    this.errno = why.errno;
  }
}

export const send: HttpSend = (url, call) =>
  new Promise<HttpAnswer>((resolve, reject) => {
    const request = url.protocol === 'https:' ? httpsRequest : httpRequest;
    // names the sidecar in CloudTrail's userAgent field, as the SDK named itself
    const headers: Record<string, string> = { 'user-agent': `vault-irsa-sidecar/${VERSION}`, ...call.headers };
    if (call.body !== undefined) headers['content-length'] = String(Buffer.byteLength(call.body));
    let settled = false;
    const fail = (e: Error): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      req.destroy();
      reject(e);
    };
    const req = request(url, { method: call.method, headers, agent: false }, (res: IncomingMessage) => {
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (size > call.maxBytes) {
          fail(
            new HttpCallError(`${url.host} answered more than ${call.maxBytes} bytes`, { awsCode: 'ResponseTooLarge' }),
          );
          res.destroy();
          return;
        }
        chunks.push(chunk);
      });
      res.on('end', () => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') });
      });
      res.on('error', (e) => fail(transportError(url, e)));
      res.on('aborted', () =>
        fail(new HttpCallError(`${url.host} closed the connection mid-answer`, { errno: 'ECONNRESET' })),
      );
    });
    const timer = setTimeout(
      () =>
        fail(
          new HttpCallError(`no full answer from ${url.host} within ${call.timeoutMs} ms`, { awsCode: 'TimeoutError' }),
        ),
      call.timeoutMs,
    );
    req.on('error', (e) => fail(transportError(url, e)));
    req.end(call.body);
  });

/** Node's socket error, reworded so it names the host and the errno code, nothing from the request. */
function transportError(url: URL, e: NodeJS.ErrnoException): HttpCallError {
  const code = typeof e.code === 'string' ? e.code : undefined;
  return new HttpCallError(`${url.host}: ${code ?? e.message}`, { errno: code });
}
