import { hasSubscribers } from 'node:diagnostics_channel';
import { type IncomingMessage, ServerResponse } from 'node:http';

/**
 * Keeps node's ServerResponse objects out of V8's dictionary mode, for the life of the process.
 *
 * V8 sizes the in-object property space of objects made by a constructor from the objects alive when the 7th
 * one is made (in-object slack tracking, V8's kSlackTrackingCounterStart). If a full GC has just cleared the
 * maps of the responses already answered (the memory reducer runs one after a few idle seconds), that sizing
 * happens on an empty map tree: the space shrinks to nothing, every later response keeps all its ~44 fields
 * out of object, and the first symbol-keyed store in node's OutgoingMessage constructor then turns it into a
 * dictionary-mode object (V8 allows 12 such fields on a keyed store). Every property node reads and writes on
 * a response is then a hash lookup: reads measured 25-40% slower (`npm run bench:sidecar`), and the process
 * never recovers. A sidecar's first responses are a few readiness probes seconds apart, so a pod would hit this
 * by chance: six responses before the first idle GC is enough.
 *
 * Making SETTLE_COUNT responses that stay alive together, before any real one, ends the sizing on their shape:
 * each is taken through writeHead and end (no socket: the bytes stay in its buffer and are dropped with it), so
 * the in-object space fits nearly all of a real response's fields. Costs ~0.1 ms once; what outlives it is V8's
 * map (and node's Date-header cache, refreshed within a second). test/unit/sidecar/response-shape.test.ts runs the
 * six-then-GC case with and without it.
 *
 * Node 22 announces every new response on the `http.server.response.created` diagnostics channel. A subscriber
 * already there at start (an APM agent loaded with --import) would be handed eight responses that have no socket,
 * headers or URL and never finish, and one that throws would take the process down: then nothing is settled.
 */
const SETTLE_COUNT = 8;
const RESPONSE_CREATED = 'http.server.response.created';

let settled = false;

export function settleResponseShape(): void {
  if (settled) return;
  settled = true;
  if (hasSubscribers(RESPONSE_CREATED)) return;
  const req = { method: 'GET', httpVersionMajor: 1, httpVersionMinor: 1 } as IncomingMessage;
  const held: ServerResponse[] = [];
  try {
    for (let i = 0; i < SETTLE_COUNT; i++) {
      const res = new ServerResponse(req);
      res.writeHead(200, { 'content-length': '0' });
      res.end();
      held.push(res);
    }
  } catch {
    // a node whose ServerResponse wants more of its request: the process only runs slower, as it would without
  }
}
