import type { OutgoingHttpHeaders, ServerResponse } from 'node:http';
import { STATUS_CODES } from 'node:http';

/**
 * Writing answers. Every answer of both listeners goes through `send`, so every one carries
 * `Cache-Control: no-store`; errors have one shape, {"error": {"code", "message"}}, and their messages
 * never hold a secret value or a token.
 */
export const JSON_TYPE = 'application/json; charset=utf-8';
export const TEXT_TYPE = 'text/plain; charset=utf-8';

export function send(
  res: ServerResponse,
  status: number,
  body: Buffer | string | undefined,
  headers: OutgoingHttpHeaders = {},
): void {
  headers['cache-control'] = 'no-store';
  if (body !== undefined) headers['content-length'] = typeof body === 'string' ? Buffer.byteLength(body) : body.length;
  res.writeHead(status, headers);
  res.end(body);
}

function errorBody(code: string, message: string): string {
  return JSON.stringify({ error: { code, message } });
}

export function sendError(
  res: ServerResponse,
  status: number,
  code: string,
  message: string,
  headers: OutgoingHttpHeaders = {},
): void {
  headers['content-type'] = JSON_TYPE;
  send(res, status, errorBody(code, message), headers);
}

/**
 * A whole HTTP/1.1 error answer as bytes, for a socket node:http has no response object for (a request it
 * could not parse, a timeout, CONNECT). The connection is closed after it.
 */
export function rawErrorResponse(status: number, code: string, message: string): string {
  const body = errorBody(code, message);
  return (
    `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? 'Error'}\r\n` +
    `Content-Type: ${JSON_TYPE}\r\nCache-Control: no-store\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`
  );
}
