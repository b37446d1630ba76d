import { startProcess, waitFor, WaitTimeoutError } from '../../../stand-ins/child.js';
import { freePort, freePorts } from '../../../stand-ins/ports.js';
import { createServer } from 'node:net';

describe('startProcess', () => {
  it('captures output, waits for a line and the exit code', async () => {
    const p = startProcess(
      process.execPath,
      ['-e', 'console.log("hello " + process.env.FOO); console.error("err line"); process.exit(3)'],
      { FOO: 'bar' },
    );
    expect(await p.waitForLine(/hello/)).toBe('hello bar');
    expect((await p.waitForExit()).code).toBe(3);
    expect(p.output()).toContain('err line');
  });

  it('rejects waitForLine when the process exits first', async () => {
    const p = startProcess(process.execPath, ['-e', 'console.log("nope")'], {});
    await expect(p.waitForLine(/never/)).rejects.toThrow(/exited/);
  });

  it('stops a long-running process and scrubs AWS_/VAULT_ env unless given', async () => {
    process.env.AWS_SECRET_ACCESS_KEY = 'leak';
    try {
      const p = startProcess(
        process.execPath,
        ['-e', 'console.log("k=" + (process.env.AWS_SECRET_ACCESS_KEY ?? "none")); setInterval(() => {}, 1000)'],
        {},
      );
      expect(await p.waitForLine(/^k=/)).toBe('k=none');
      const r = await p.stop();
      expect(r.signal).toBe('SIGTERM');
    } finally {
      delete process.env.AWS_SECRET_ACCESS_KEY;
    }
  });

  it('times out waiting for a line', async () => {
    const p = startProcess(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], {});
    try {
      await expect(p.waitForLine(/x/, 200)).rejects.toBeInstanceOf(WaitTimeoutError);
    } finally {
      await p.stop('SIGKILL');
    }
  });
});

describe('waitFor', () => {
  it('polls until truthy', async () => {
    let n = 0;
    expect(await waitFor(() => (++n >= 3 ? n : 0), 5000, 5)).toBe(3);
  });
  it('times out with the last error', async () => {
    await expect(
      waitFor(
        () => {
          throw new Error('still bad');
        },
        100,
        10,
      ),
    ).rejects.toThrow(/still bad/);
  });
});

describe('freePort', () => {
  it('returns a bindable port', async () => {
    const port = await freePort();
    const srv = createServer();
    await new Promise<void>((r) => srv.listen(port, '127.0.0.1', () => r()));
    await new Promise<void>((r) => srv.close(() => r()));
    const ports = await freePorts(3);
    expect(new Set(ports).size).toBe(3);
  });
});
