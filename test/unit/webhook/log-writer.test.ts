/**
 * The webhook's stdout writer: the lines of one event-loop turn in one write, right after that turn; nothing
 * lost at exit; partial writes and a full pipe handled; a broken stdout never throws into a review.
 */
import { spawnSync } from 'node:child_process';
import { writeSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { MAX_PENDING_CHARS, turnWriter } from '../../../webhook/log-writer.js';

type Write = typeof writeSync;
const turn = (): Promise<void> => new Promise((r) => setImmediate(r));

/** A write(2) stand-in that records what each call wrote; `each` may shorten or fail a call. */
function recorder(each: (call: number, len: number) => number | NodeJS.ErrnoException = (_c, len) => len) {
  const calls: string[] = [];
  const write = ((_fd: number, buf: Buffer, off: number, len: number) => {
    const r = each(calls.length, len);
    if (r instanceof Error) {
      calls.push('');
      throw r;
    }
    calls.push(buf.subarray(off, off + r).toString('utf8'));
    return r;
  }) as unknown as Write;
  return { calls, write };
}
const errno = (code: string): NodeJS.ErrnoException => Object.assign(new Error(code), { code });

test('the lines of one turn go out together, in order, after that turn and not before', async () => {
  const { calls, write } = recorder();
  const w = turnWriter(99, write);
  w.write('a\n');
  w.write('b\n');
  w.write('c\n');
  expect(calls).toEqual([]);
  await turn();
  expect(calls).toEqual(['a\nb\nc\n']);
  // a quiet webhook: a lone line is written at the end of its own turn, no timer in between
  w.write('d\n');
  await turn();
  expect(calls).toEqual(['a\nb\nc\n', 'd\n']);
  await turn();
  expect(calls).toHaveLength(2);
});

test('more than MAX_PENDING_CHARS in one turn is written at once', () => {
  const { calls, write } = recorder();
  const w = turnWriter(99, write);
  const line = `${'x'.repeat(1023)}\n`;
  for (let i = 0; i < MAX_PENDING_CHARS / 1024; i++) w.write(line);
  expect(calls).toHaveLength(1);
  expect(calls[0]).toHaveLength(MAX_PENDING_CHARS);
});

test('a short write continues where it stopped; a full pipe (EAGAIN) is retried; UTF-8 stays whole', async () => {
  const { calls, write } = recorder((call, len) => (call === 0 ? 3 : call === 1 ? errno('EAGAIN') : len));
  const w = turnWriter(99, write);
  w.write('héllo\n');
  w.write('wörld\n');
  await turn();
  expect(Buffer.concat(calls.map((c) => Buffer.from(c))).toString('utf8')).toBe('héllo\nwörld\n');
  expect(calls.length).toBeGreaterThanOrEqual(3);
});

test('a stdout that is gone (EPIPE) drops the lines without throwing', async () => {
  const { write } = recorder(() => errno('EPIPE'));
  const w = turnWriter(99, write);
  w.write('lost\n');
  await expect(turn()).resolves.toBeUndefined();
  expect(() => w.flushSync()).not.toThrow();
});

// the built module (npm test builds first): the child process runs plain node
const LOGGER = fileURLToPath(new URL('../../../dist/webhook/logger.js', import.meta.url));

test('flush(cb), as pino calls it from logger.flush(), writes what is pending before the callback', () => {
  const { calls, write } = recorder();
  const w = turnWriter(99, write);
  w.write('a\n');
  let done = false;
  w.flush(() => (done = true));
  expect(done).toBe(true);
  expect(calls).toEqual(['a\n']);
});

test.each([
  ['process.exit() in the same turn', 'process.exit(3)', 3],
  ['a line logged from an exit listener', 'process.on("exit", () => log.info({ n: 3 }, "line")); process.exit(0)', 0],
  ['an uncaught exception in the same turn', 'throw new Error("boom")', 1],
  ['the loop running dry', '', 0],
])('the logger writes pending lines on %s', (_what, end, code) => {
  // the built logger with its default destination, stdout: a child process so the exit is real
  const script = `import(${JSON.stringify(LOGGER)}).then(({ createLogger }) => {
    const log = createLogger('info');
    for (let i = 0; i < 3; i++) log.info({ n: i }, 'line');
    ${end}
  });`;
  const r = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8' });
  expect(r.status).toBe(code);
  const lines = r.stdout
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as { n: number; msg: string });
  expect(lines.map((l) => l.n)).toEqual(end.includes('n: 3') ? [0, 1, 2, 3] : [0, 1, 2]);
});
