import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { rawErrorResponse, sendError } from './reply.js';
import { settleResponseShape } from '../response-shape.js';
import { holdTickShape } from '../tick-shape.js';

/** What bounds a listener's memory and how long a client may hold a connection without using it. */
export interface ListenerLimits {
  /** connections beyond this are closed as soon as they are accepted */
  maxConnections: number;
  /** a request's headers must arrive within this */
  headersTimeoutMs: number;
  /** a whole request must arrive within this (a long poll's wait is not part of it: that is the answer) */
  requestTimeoutMs: number;
  /** an idle keep-alive connection is closed after this */
  keepAliveTimeoutMs: number;
  /** how often node checks the two timeouts above; they are only as precise as this */
  checkIntervalMs: number;
  /** bytes of request line + headers; beyond it 431 */
  maxHeaderSize: number;
}

export type Handler = (req: IncomingMessage, res: ServerResponse) => void;

/**
 * A node:http server with the house rules every listener shares, so neither listener can forget one:
 * bounded connections and timeouts; a request node cannot parse (bad request line, oversized headers, a
 * timeout, CONNECT) answered in the error JSON shape with no-store instead of node's bare default; and a
 * shutdown that answers what is in flight before the connections close.
 */
export class HttpListener {
  readonly server: Server;
  private closingFlag = false;
  private closed: Promise<void> | undefined;
  private readonly beforeClose: Array<() => void> = [];

  constructor(handle: Handler, limits: ListenerLimits) {
    settleResponseShape();
    holdTickShape();
    this.server = createServer(
      {
        headersTimeout: limits.headersTimeoutMs,
        requestTimeout: limits.requestTimeoutMs,
        keepAliveTimeout: limits.keepAliveTimeoutMs,
        connectionsCheckingInterval: limits.checkIntervalMs,
        maxHeaderSize: limits.maxHeaderSize,
        // the Host rule is the API's own (it answers 400/421 in the error shape); node's would be a bare 400
        requireHostHeader: false,
      },
      (req, res) => {
        if (this.closingFlag) {
          res.setHeader('connection', 'close');
          sendError(res, 503, 'shutting_down', 'the sidecar is shutting down');
          return;
        }
        try {
          handle(req, res);
        } catch {
          // a bug must not take the process (and every secret the pod reads) down: answer 500 if still possible
          internalError(res);
        }
      },
    );
    this.server.maxConnections = limits.maxConnections;
    this.server.on('clientError', answerClientError);
    // without a listener node drops a CONNECT without a word; it is an authority-form target: 400
    this.server.on('connect', (_req: IncomingMessage, socket: Duplex) => {
      answerAndClose(
        socket,
        rawErrorResponse(
          400,
          'bad_request',
          'CONNECT (authority-form) is not accepted; the request target must be a path such as /v1/secrets',
        ),
      );
    });
  }

  get closing(): boolean {
    return this.closingFlag;
  }

  /** Runs when close() begins, after new requests start getting 503: e.g. answer waiting long polls. */
  onClose(fn: () => void): void {
    this.beforeClose.push(fn);
  }

  listen(opts: { host: string; port: number }): Promise<void> {
    return new Promise((resolve, reject) => {
      const onError = (e: Error): void => reject(e);
      this.server.once('error', onError);
      this.server.listen(opts.port, opts.host, () => {
        this.server.off('error', onError);
        resolve();
      });
    });
  }

  /** `host:port`, `[v6]:port` */
  address(): string | undefined {
    const a = this.server.address();
    if (!a || typeof a !== 'object') return undefined;
    return a.family === 'IPv6' ? `[${a.address}]:${a.port}` : `${a.address}:${a.port}`;
  }

  /**
   * Stops accepting, answers new requests on open connections with 503 (Connection: close), lets the
   * onClose hooks answer what waits, closes idle connections, and after `graceMs` closes whatever is left.
   */
  close(graceMs = 3000): Promise<void> {
    this.closed ??= new Promise<void>((resolve) => {
      this.closingFlag = true;
      for (const fn of this.beforeClose) fn();
      if (!this.server.listening) {
        resolve();
        return;
      }
      const force = setTimeout(() => this.server.closeAllConnections(), graceMs);
      force.unref();
      this.server.close(() => {
        clearTimeout(force);
        resolve();
      });
      this.server.closeIdleConnections();
    });
    return this.closed;
  }
}

/** 500 in the error shape while the headers are not sent yet; otherwise the connection is cut. Returns 500. */
export function internalError(res: ServerResponse): number {
  if (res.headersSent) res.destroy();
  else sendError(res, 500, 'internal_error', 'internal error');
  return 500;
}

/** The answer to a request node:http could not take as a request, by its error code. */
export function clientErrorAnswer(code: string | undefined): { status: number; code: string; message: string } {
  switch (code) {
    case 'HPE_HEADER_OVERFLOW':
      return { status: 431, code: 'headers_too_large', message: 'request line and headers are too large' };
    case 'ERR_HTTP_REQUEST_TIMEOUT':
    case 'HPE_HEADERS_TIMEOUT':
      return { status: 408, code: 'request_timeout', message: 'the request did not arrive in time' };
    default:
      return { status: 400, code: 'bad_request', message: 'malformed HTTP request' };
  }
}

function answerClientError(err: NodeJS.ErrnoException, socket: Duplex): void {
  // a reset or half-answered connection cannot take an answer (bytes mid-response would corrupt it)
  const inFlight = (socket as Duplex & { _httpMessage?: { headersSent?: boolean } })._httpMessage;
  if (err.code === 'ECONNRESET' || !socket.writable || inFlight?.headersSent) {
    socket.destroy();
    return;
  }
  const a = clientErrorAnswer(err.code);
  answerAndClose(socket, rawErrorResponse(a.status, a.code, a.message));
}

/** How long an answered, refused connection may take to flush its few bytes before it is cut. */
const FLUSH_GRACE_MS = 1_000;

/**
 * Writes the last answer and closes the connection for good. `end()` alone only half-closes: the socket
 * stays open, and counted against maxConnections, until the client sends its own FIN, which a hostile
 * client never does (32 such sockets held the health listener's every slot). So the socket is destroyed
 * once the answer is flushed, or after a short grace if the client does not read it.
 */
export function answerAndClose(socket: Duplex, bytes: string | Buffer): void {
  const cut = setTimeout(() => socket.destroy(), FLUSH_GRACE_MS);
  cut.unref();
  socket.end(bytes, () => {
    clearTimeout(cut);
    socket.destroy();
  });
}
