/** The watch wire format: events parsed to what the ServiceAccount cache keeps; anything else a clear error. */
import fc from 'fast-check';
import { LineSplitter, parseWatchLine, serviceAccountEntry, WatchLineError } from '../../../webhook/kube-watch.js';

const sa = (annotations?: unknown): Record<string, unknown> => ({
  apiVersion: 'v1',
  kind: 'ServiceAccount',
  metadata: { name: 'app', namespace: 'demo', uid: 'u', resourceVersion: '7', annotations },
});

test('ADDED, MODIFIED and DELETED keep namespace, name, resourceVersion and annotations only', () => {
  for (const type of ['ADDED', 'MODIFIED', 'DELETED'] as const) {
    expect(parseWatchLine(JSON.stringify({ type, object: sa({ 'eks.amazonaws.com/role-arn': 'r' }) }))).toEqual({
      type,
      object: {
        namespace: 'demo',
        name: 'app',
        resourceVersion: '7',
        annotations: { 'eks.amazonaws.com/role-arn': 'r' },
      },
    });
  }
  expect(parseWatchLine(JSON.stringify({ type: 'ADDED', object: sa() }))).toMatchObject({
    object: { annotations: {} },
  });
});

test('BOOKMARK gives its resourceVersion; ERROR its code and reason, never the message', () => {
  expect(
    parseWatchLine('{"type":"BOOKMARK","object":{"kind":"ServiceAccount","metadata":{"resourceVersion":"42"}}}'),
  ).toEqual({ type: 'BOOKMARK', resourceVersion: '42' });
  expect(
    parseWatchLine(
      JSON.stringify({
        type: 'ERROR',
        object: { kind: 'Status', code: 410, reason: 'Expired', message: 'secret-ish' },
      }),
    ),
  ).toEqual({ type: 'ERROR', code: 410, reason: 'Expired' });
  expect(parseWatchLine('{"type":"ERROR","object":null}')).toEqual({ type: 'ERROR', code: undefined, reason: '' });
});

test.each([
  ['not json', /not JSON/],
  ['[1,2]', /not a JSON object/],
  ['{"object":{}}', /has no type/],
  ['{"type":"UPSERTED","object":{}}', /type "UPSERTED" is unknown/],
  ['{"type":"ADDED","object":[]}', /ADDED event: the object is not a JSON object/],
  ['{"type":"ADDED","object":{"metadata":{"namespace":"d"}}}', /metadata.name is not a string/],
  ['{"type":"ADDED","object":{"metadata":{"name":"a"}}}', /metadata.namespace is not a string/],
  [
    '{"type":"ADDED","object":{"metadata":{"name":"a","namespace":"d","annotations":{"k":1}}}}',
    /annotation "k" is not a string/,
  ],
  [
    '{"type":"MODIFIED","object":{"metadata":{"name":"a","namespace":"d","annotations":"x"}}}',
    /annotations is not an object/,
  ],
  ['{"type":"BOOKMARK","object":{"metadata":{}}}', /BOOKMARK event: metadata.resourceVersion/],
])('%s is a WatchLineError saying what is wrong', (line, message) => {
  expect(() => parseWatchLine(line)).toThrow(WatchLineError);
  expect(() => parseWatchLine(line)).toThrow(message);
});

test('garbage lines are a WatchLineError or a parsed event, never another exception; the line is never quoted', () => {
  const canary = 'CANARY-7f3a';
  const garbage = fc.oneof(
    fc.string(),
    fc.json(),
    fc.jsonValue().map((object) => JSON.stringify({ type: 'ADDED', object })),
    fc
      .record({
        type: fc.constantFrom('ADDED', 'MODIFIED', 'DELETED', 'BOOKMARK', 'ERROR', 'X'),
        object: fc.anything(),
      })
      .map((ev) => JSON.stringify(ev)),
    fc.string().map((s) => `{"type":"ADDED","object":{"metadata":${s}}}`),
  );
  fc.assert(
    fc.property(garbage, (g) => {
      const line = `${g}${canary}`;
      try {
        parseWatchLine(line);
      } catch (err) {
        expect(err).toBeInstanceOf(WatchLineError);
        expect((err as Error).message).not.toContain(canary);
      }
      // and the same without the canary, which may well parse
      try {
        parseWatchLine(g);
      } catch (err) {
        expect(err).toBeInstanceOf(WatchLineError);
      }
    }),
    { numRuns: 500 },
  );
});

test('a list item without a namespace is refused; a GET answer may omit it', () => {
  expect(() => serviceAccountEntry({ metadata: { name: 'a', namespace: '' } }, 'list')).toThrow(/namespace/);
  expect(serviceAccountEntry({ metadata: { name: 'a', namespace: '' } }, 'GET', false).name).toBe('a');
});

describe('LineSplitter', () => {
  test('any chunking of a stream gives the same lines, multi-byte characters included', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc
            .string({ unit: 'grapheme', maxLength: 30 })
            .filter((s) => !s.includes('\n') && s.trim() !== '' && s.trim() === s),
          {
            maxLength: 8,
          },
        ),
        fc.array(fc.nat(), { maxLength: 10 }),
        (lines, cuts) => {
          const bytes = Buffer.from(lines.map((l) => `${l}\n`).join(''), 'utf8');
          const points = [...new Set(cuts.map((c) => (bytes.length === 0 ? 0 : c % bytes.length)))].sort(
            (a, b) => a - b,
          );
          const s = new LineSplitter();
          const out: string[] = [];
          let from = 0;
          for (const p of [...points, bytes.length]) {
            out.push(...s.push(bytes.subarray(from, p)));
            from = p;
          }
          expect(out).toEqual(lines);
        },
      ),
    );
  });

  test('a line longer than the bound throws, whether or not it has ended', () => {
    const s = new LineSplitter(10);
    expect(s.push(Buffer.from('0123456789\n'))).toEqual(['0123456789']);
    expect(() => s.push(Buffer.from('0123456789A'))).toThrow(/longer than 10 characters/);
    expect(() => new LineSplitter(10).push(Buffer.from('0123456789AB\nx\n'))).toThrow(/longer than 10/);
    // the partial line is dropped, not kept growing
    const t = new LineSplitter(10);
    for (let i = 0; i < 5; i++) expect(() => t.push(Buffer.alloc(11, 'a'))).toThrow(WatchLineError);
  });
});
