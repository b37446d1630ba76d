/**
 * V8 settings the sidecar process applies to itself before it loads anything else, so the image's ENTRYPOINT,
 * the `vault-irsa-sidecar` launcher (the command the webhook injects, which bypasses ENTRYPOINT) and the
 * benchmarks, which run the same bundle, all run with them: one source.
 *
 * --interrupt-budget: how much bytecode a function runs before V8 considers optimising it (default 132 KB).
 * Start-up (config, SigV4 signing, the first logins and reads) is just hot enough to wake the optimising
 * compiler, whose code pages in the node binary then stay resident: ~3.4 MB of RssFile in every idle sidecar
 * (42.0 → 38.6 MB measured). Under load the read path still crosses a budget this size within milliseconds;
 * CPU per read was unchanged at 300 KB (500 KB too; 1 MB cost throughput). Memory-limit flags
 * (--max-semi-space-size, --max-old-space-size) must be set before the heap exists and measured no gain idle
 * or at peak, so none are set. test/bench/sidecar.bench.ts measures the result.
 */
import { setFlagsFromString } from 'node:v8';

export const SIDECAR_V8_FLAGS = ['--interrupt-budget=307200'] as const;

export function applySidecarV8Flags(): void {
  for (const flag of SIDECAR_V8_FLAGS) setFlagsFromString(flag);
}
