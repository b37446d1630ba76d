/**
 * V8 settings the sidecar process applies to itself before it loads anything else, so the image's ENTRYPOINT,
 * the `vault-irsa-sidecar` launcher (the command the webhook injects, which bypasses ENTRYPOINT) and the
 * benchmarks, which run the same bundle, all run with them: one source.
 *
 * One setting, in each V8's own terms: how much a function must run before V8 optimises it. Start-up (config,
 * SigV4 signing, the first logins and reads) is just hot enough to wake the optimising compiler, whose code pages
 * in the node binary then stay resident in every idle sidecar. Under load the read path crosses either threshold
 * within a second; CPU per read is unchanged.
 *  - V8 11 (node 20) counts bytecode run: --interrupt-budget, default 132 KB, here 300 KB. Idle RssFile
 *    42.0 → 38.6 MB (500 KB changed nothing more; 1 MB cost throughput).
 *  - V8 12 and later (node 22, the image's) count invocations and have no --interrupt-budget: setting it only
 *    prints "unrecognized flag" on stderr at every start. --invocation-count-for-turbofan, default 3000, here
 *    20000: idle node-binary text 25.5 → 20.1 MB on 22.23.5. The bench's start-up crossed 8000, not 10000;
 *    the margin is for pods declaring more secrets. Maglev's own count changed nothing.
 * Memory-limit flags (--max-semi-space-size, --max-old-space-size) must be set before the heap exists and measured
 * no gain idle or at peak, so none are set. test/bench/sidecar.bench.ts measures the result.
 */
import { setFlagsFromString } from 'node:v8';

const V8_11_FLAGS = ['--interrupt-budget=307200'] as const;
const V8_12_FLAGS = ['--invocation-count-for-turbofan=20000'] as const;

/** The flags for a V8 version string such as process.versions.v8 ("11.3.244.8-node.33"). */
export function sidecarV8Flags(v8Version: string = process.versions.v8): readonly string[] {
  return Number.parseInt(v8Version, 10) >= 12 ? V8_12_FLAGS : V8_11_FLAGS;
}

export function applySidecarV8Flags(): void {
  for (const flag of sidecarV8Flags()) setFlagsFromString(flag);
}
