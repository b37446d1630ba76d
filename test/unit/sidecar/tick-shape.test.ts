import { LISTENER_SOURCE, WEBHOOK_SERVER_SOURCE, dist, runV8Case } from './v8-case.js';

/**
 * The case sidecar/tick-shape.ts exists for, run for real in a child node with V8's natives syntax: ticks queued
 * until nextTick's feedback is set, every tick object dropped, full GCs (as V8's memory reducer runs them a few
 * idle seconds after start), then more ticks. The state of nextTick's DefineKeyedOwnPropertyInLiteral slots
 * is read off %DebugPrint, which node's release builds print in full (four slots on node 20, five on 22).
 */
const TICK = dist('sidecar/tick-shape.js');

/** node 20 defines four keys per tick object; node 22 adds a fifth (its async context frame) */
const allMonomorphic = (s: string[]): void => {
  expect(s.length).toBeGreaterThanOrEqual(4);
  expect(s.every((x) => x === 'MONOMORPHIC')).toBe(true);
};

const DRIVER = `
const mode = process.argv[1];
if (mode === 'held') (await import(${JSON.stringify(TICK)})).holdTickShape();
if (mode === 'listener') {
  const handle = () => {};
  ${LISTENER_SOURCE}
}
if (mode === 'webhook') {
  ${WEBHOOK_SERVER_SOURCE}
}
const debugPrint = new Function('o', '%DebugPrint(o)');
const burst = (n) => { for (let i = 0; i < n; i++) process.nextTick(() => {}); };
const turn = () => new Promise((r) => setTimeout(r, 5));
// enough ticks for V8 to give nextTick its feedback and record the tick objects' maps in it
for (let i = 0; i < 4; i++) { burst(20); await turn(); }
for (let i = 0; i < 4; i++) gc();
burst(3);
await turn();
debugPrint(process.nextTick);
`;

function slots(mode: string): string[] {
  return [...runV8Case(DRIVER, mode).matchAll(/DefineKeyedOwnPropertyInLiteral (\w+)/g)].map((m) => m[1] as string);
}

test("the V8 case itself: ticks, none alive, a full GC: nextTick's literal slots turn megamorphic for good", () => {
  // if a node release stops doing this, the hold is no longer needed (and this test says so)
  const s = slots('bare');
  expect(s.length).toBeGreaterThanOrEqual(4);
  expect(s).toContain('MEGAMORPHIC');
});

test('after holdTickShape() the same sequence leaves every slot monomorphic', () => {
  allMonomorphic(slots('held'));
});

test('an HttpListener (both sidecar listeners) holds it itself', () => {
  allMonomorphic(slots('listener'));
});

test("the webhook's server holds it too", () => {
  allMonomorphic(slots('webhook'));
});
