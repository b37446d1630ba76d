import { spawn, type ChildProcess } from 'node:child_process';

/** A child process under test: output captured, waitable, always stoppable. */
export interface TestProcess {
  readonly proc: ChildProcess;
  /** stdout + stderr so far, interleaved in arrival order */
  output(): string;
  /** resolves with the first line (past or future) matching `re`; rejects on timeout or if the process exits first */
  waitForLine(re: RegExp, timeoutMs?: number): Promise<string>;
  /** resolves with the exit code (or the signal name) */
  waitForExit(timeoutMs?: number): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** sends `signal` (default SIGTERM), escalates to SIGKILL after `graceMs`, resolves once exited */
  stop(signal?: NodeJS.Signals, graceMs?: number): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

export interface StartProcessOptions {
  cwd?: string;
  /** inherit process.env under `env` (default true: PATH etc. are needed to run node) */
  inheritEnv?: boolean;
  /** echo output to this process's stderr (debugging) */
  echo?: boolean;
}

export class WaitTimeoutError extends Error {
  readonly code = 'WAIT_TIMEOUT';
  constructor(what: string, timeoutMs: number, detail = '') {
    super(`timed out after ${timeoutMs} ms waiting for ${what}${detail ? `\n--- output ---\n${detail}` : ''}`);
    this.name = 'WaitTimeoutError';
  }
}

/** Environment variables that would make a child reach real AWS or change its behaviour behind the test's back. */
const SCRUBBED_ENV = /^(AWS_|VAULT_)/;

export function startProcess(
  cmd: string,
  args: string[],
  env: Record<string, string | undefined>,
  opts: StartProcessOptions = {},
): TestProcess {
  const base: Record<string, string> = {};
  if (opts.inheritEnv !== false) {
    for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !SCRUBBED_ENV.test(k)) base[k] = v;
  }
  for (const [k, v] of Object.entries(env)) {
    if (v === undefined) delete base[k];
    else base[k] = v;
  }
  const proc = spawn(cmd, args, { cwd: opts.cwd, env: base, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let exit: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  const lineWaiters = new Set<() => void>();
  const exitWaiters = new Set<() => void>();
  const notify = (set: Set<() => void>) => {
    for (const fn of [...set]) fn();
  };
  const onData = (chunk: Buffer) => {
    const s = chunk.toString('utf8');
    out += s;
    if (opts.echo) process.stderr.write(s);
    notify(lineWaiters);
  };
  proc.stdout?.on('data', onData);
  proc.stderr?.on('data', onData);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    proc.on('error', (err) => {
      out += `\n[startProcess] spawn error: ${err.message}\n`;
      exit = { code: -1, signal: null };
      notify(lineWaiters);
      notify(exitWaiters);
      resolve(exit);
    });
    // 'close' (not 'exit') so every byte of output has been read
    proc.on('close', (code, signal) => {
      exit ??= { code, signal };
      notify(lineWaiters);
      notify(exitWaiters);
      resolve(exit);
    });
  });

  const findLine = (re: RegExp): string | undefined => {
    // only complete lines, or the tail once the process has ended
    const lines = out.split('\n');
    const complete = exit ? lines : lines.slice(0, -1);
    return complete.find((l) => re.test(l));
  };

  const waitForLine = (re: RegExp, timeoutMs = 20000): Promise<string> =>
    new Promise((resolve, reject) => {
      const check = (): boolean => {
        const line = findLine(re);
        if (line !== undefined) {
          done();
          resolve(line);
          return true;
        }
        if (exit) {
          done();
          reject(
            new Error(
              `process exited (${exit.code ?? exit.signal}) before a line matched ${re}\n--- output ---\n${out}`,
            ),
          );
          return true;
        }
        return false;
      };
      const timer = setTimeout(() => {
        done();
        reject(new WaitTimeoutError(`a line matching ${re}`, timeoutMs, out));
      }, timeoutMs);
      const done = () => {
        clearTimeout(timer);
        lineWaiters.delete(listener);
      };
      const listener = () => void check();
      lineWaiters.add(listener);
      check();
    });

  const waitForExit = (timeoutMs = 20000) =>
    new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve, reject) => {
      if (exit) return resolve(exit);
      const timer = setTimeout(() => {
        exitWaiters.delete(listener);
        reject(new WaitTimeoutError('process exit', timeoutMs, out));
      }, timeoutMs);
      const listener = () => {
        clearTimeout(timer);
        exitWaiters.delete(listener);
        if (exit) resolve(exit);
      };
      exitWaiters.add(listener);
    });

  const stop = async (signal: NodeJS.Signals = 'SIGTERM', graceMs = 5000) => {
    if (exit) return exit;
    proc.kill(signal);
    const timer = setTimeout(() => {
      if (!exit) proc.kill('SIGKILL');
    }, graceMs);
    try {
      return await exited;
    } finally {
      clearTimeout(timer);
    }
  };

  return { proc, output: () => out, waitForLine, waitForExit, stop };
}

/**
 * Polls `fn` until it returns a truthy value (resolved with it) or throws no more; rejects on timeout with the
 * last error or value. Use it instead of sleeps and timing assertions.
 */
export async function waitFor<T>(
  fn: () => T | Promise<T>,
  timeoutMs = 20000,
  intervalMs = 50,
): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v;
      last = v;
    } catch (err) {
      last = err;
    }
    if (Date.now() >= deadline) {
      const detail = last instanceof Error ? last.message : JSON.stringify(last);
      throw new WaitTimeoutError('condition', timeoutMs, `last result: ${detail}`);
    }
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}
