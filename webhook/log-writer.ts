/**
 * The webhook's stdout for pino: synchronous writes, one per event-loop turn rather than one per line.
 *
 * Under load a write(2) per review line was a sixth of a review's CPU (~50 of ~380 us at 50 connections). The
 * lines of one turn (every review whose request completed in the same poll) are joined and written right
 * after it, from setImmediate: no timer, no wait on a quiet webhook (a lone line is out in the same turn's
 * check phase), and nothing buffered for longer than the turn that logged it. More than MAX_PENDING_CHARS is
 * written at once. At exit (process.exit, a signal handler's exit, an uncaught exception) what is pending is
 * written first, and a line logged after that (another 'exit' listener) is written at once. What a kill that
 * runs no JavaScript (SIGKILL, the OOM killer) can take is the current turn's lines, microseconds old. Written in
 * the event loop like pino's `sync: true` destination, not on libuv's thread pool, whose per-write hand-off cost
 * more than the write. A write error other than a full pipe (the reader is gone, the disk is full) drops the
 * lines: there is nowhere left to report it, and a review must not fail for its log line.
 */
import { writeSync } from 'node:fs';

export const MAX_PENDING_CHARS = 64 * 1024;
/** how long to wait before retrying a write to a full non-blocking pipe */
const EAGAIN_WAIT_MS = 1;
const nap = new Int32Array(new SharedArrayBuffer(4));

/** every writer's flush, run by one 'exit' listener (a listener per writer would pile up in tests) */
const atExit = new Set<() => void>();

/** set once the process is exiting: no later turn will come to write a line */
let exiting = false;

export interface TurnWriter {
  write(line: string): boolean;
  /** writes what is pending now */
  flushSync(): void;
  /** what pino's logger.flush(cb) calls */
  flush(cb?: (err?: Error) => void): void;
}

export function turnWriter(fd: number, write: typeof writeSync = writeSync): TurnWriter {
  let pending: string[] = [];
  let chars = 0;
  let scheduled = false;

  const flushSync = (): void => {
    if (pending.length === 0) return;
    const out = Buffer.from(pending.length === 1 ? (pending[0] as string) : pending.join(''), 'utf8');
    pending = [];
    chars = 0;
    let off = 0;
    while (off < out.length) {
      try {
        off += write(fd, out, off, out.length - off);
      } catch (err) {
        // a full pipe to a slow reader: wait for it, as pino's own sync destination does
        if ((err as NodeJS.ErrnoException).code === 'EAGAIN') Atomics.wait(nap, 0, 0, EAGAIN_WAIT_MS);
        // anything else (the reader is gone): the lines cannot be written anywhere, and logging must not throw
        else return;
      }
    }
  };
  const onTurnEnd = (): void => {
    scheduled = false;
    flushSync();
  };
  atExit.add(flushSync);
  if (atExit.size === 1) {
    process.once('exit', () => {
      exiting = true;
      atExit.forEach((flush) => flush());
    });
  }

  return {
    write(line: string): boolean {
      pending.push(line);
      chars += line.length;
      if (chars >= MAX_PENDING_CHARS || exiting) flushSync();
      else if (!scheduled) {
        scheduled = true;
        setImmediate(onTurnEnd);
      }
      return true;
    },
    flushSync,
    flush(cb) {
      flushSync();
      cb?.();
    },
  };
}
