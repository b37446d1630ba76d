/**
 * Which real backends this machine has. Each answer comes back fast (no daemon, no binary: milliseconds),
 * so a machine without them skips the tier at once instead of waiting on a connect timeout.
 */
import { getContainerRuntimeClient } from 'testcontainers';

export type Detected<T> = ({ ok: true } & T) | { ok: false; reason: string };

/**
 * A container runtime testcontainers can use. getContainerRuntimeClient() tries its strategies in turn
 * (TESTCONTAINERS_HOST_OVERRIDE, DOCKER_HOST / ~/.testcontainers.properties, the unix sockets) and throws
 * within milliseconds when none answers; the race only guards a DOCKER_HOST that accepts and never replies.
 */
export async function detectDocker(timeoutMs = 10_000): Promise<Detected<{ host: string; serverVersion: string }>> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
    timer.unref();
  });
  try {
    const client = await Promise.race([getContainerRuntimeClient(), timeout]);
    return {
      ok: true,
      host: client.info.containerRuntime.host,
      serverVersion: String(client.info.containerRuntime.serverVersion),
    };
  } catch (err) {
    return {
      ok: false,
      reason: `testcontainers found no container runtime (${err instanceof Error ? err.message : String(err)})`,
    };
  } finally {
    clearTimeout(timer);
  }
}
