import { executionAsyncResource } from 'node:async_hooks';

/**
 * Keeps `process.nextTick` on V8's fast path for the life of the process, after idle full GCs.
 *
 * node's nextTick builds each queued tick as an object literal with computed keys
 * (`{ [async_id_symbol]: …, [trigger_async_id_symbol]: …, callback, args }`). V8 defines those keys through
 * DefineKeyedOwnPropertyInLiteral, whose feedback holds the map before each store weakly. Once no tick object is
 * alive, a full GC (the memory reducer's, a few idle seconds after start) frees those maps; the next tick finds
 * its feedback cleared, calls that a different map and turns the slots megamorphic, for good: from then on every
 * nextTick (several per request) defines its four keys in the runtime. Measured on the sidecar after 15 s idle:
 * 14% of its CPU in that runtime call, reads 20-25% slower than the same process loaded before its idle GC.
 *
 * One tick object held alive keeps its map chain, so later ticks land on the same maps and the slots stay
 * monomorphic. The object is the resource of a tick's own callback (async_hooks' executionAsyncResource), so no
 * hook is installed; it holds only that callback. test/unit/sidecar/tick-shape.test.ts runs the GC case with and
 * without it.
 */
const held: object[] = [];
let asked = false;

export function holdTickShape(): void {
  if (asked) return;
  asked = true;
  process.nextTick(() => {
    held.push(executionAsyncResource());
  });
}
