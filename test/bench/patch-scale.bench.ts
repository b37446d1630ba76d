/**
 * `node dist/test/bench/patch-scale.bench.js` (after `npm run build`): time and memory of the JSON-patch diff
 * (webhook/patch.ts) for pods of 100 to 10,000 containers, native and classic mode, next to rfc6902's
 * createPatch (quadratic: measured here up to 300 containers; at 1,000 it ran out of a 4 GB heap after 90 s). The review
 * itself refuses pods above 500 containers (webhook/pod-policy.ts); the diff must stay linear regardless.
 * Prints a table; each row is a fresh child process so one size's garbage does not weigh on the next.
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { createPatch } from 'rfc6902';
import { planFromAnnotations } from '../../webhook/annotations.js';
import { loadWebhookConfig } from '../../webhook/config.js';
import { resolveAwsIdentity } from '../../webhook/inject/aws-identity.js';
import { appContainers, injectPod } from '../../webhook/inject/index.js';
import { podPatch } from '../../webhook/patch.js';
import type { Pod } from '../../webhook/plan.js';

function measure(impl: 'linear' | 'rfc6902', n: number, mode: 'native' | 'classic'): Record<string, unknown> {
  const config = loadWebhookConfig({
    VAULT_IRSA_WEBHOOK_VAULT_ADDR: 'https://vault.example.com:8200',
    VAULT_IRSA_WEBHOOK_KUBERNETES: 'off',
  });
  const containers = Array.from({ length: n }, (_, i) => ({
    image: 'busybox',
    args: ['sleep', '3600'],
    name: `c${i}`,
  }));
  const pod = JSON.parse(
    JSON.stringify({
      metadata: { annotations: { 'vault-irsa.io/role': 'app', 'vault-irsa.io/sidecar-mode': mode } },
      spec: { containers },
    }),
  ) as Pod;
  const plan = planFromAnnotations(pod.metadata?.annotations, config);
  if (plan.action !== 'inject') throw new Error('no plan');
  const identity = resolveAwsIdentity(pod, appContainers(pod), plan.plan, {
    namespace: 'd',
    serviceAccountName: 'x',
    serviceAccount: { status: 'not_found' },
  });
  const injected = injectPod(pod, plan.plan, identity);
  if (!injected.ok) throw new Error(injected.problems.join('; '));
  const rss0 = process.memoryUsage().rss;
  const t0 = process.hrtime.bigint();
  const ops = impl === 'linear' ? podPatch(pod, injected.pod) : createPatch(pod, injected.pod);
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  return {
    impl,
    containers: n,
    mode,
    ms: Math.round(ms * 10) / 10,
    ops: ops.length,
    rssGrowthMB: Math.round((process.memoryUsage().rss - rss0) / 1e5) / 10,
  };
}

const [, , impl, n, mode] = process.argv;
if (impl !== undefined) {
  process.stdout.write(
    `${JSON.stringify(measure(impl as 'linear' | 'rfc6902', Number(n), mode as 'native' | 'classic'))}\n`,
  );
} else {
  const self = fileURLToPath(import.meta.url);
  const rows: Array<Record<string, unknown>> = [];
  for (const size of [100, 300, 1000, 10_000]) {
    for (const m of ['native', 'classic']) {
      for (const which of ['linear', 'rfc6902']) {
        if (which === 'rfc6902' && size > 300) continue;
        const r = spawnSync(process.execPath, [self, which, String(size), m], { encoding: 'utf8', timeout: 300_000 });
        const failure = r.signal ?? r.stderr.split('\n').find((l) => /error|heap/i.test(l)) ?? `exit ${r.status}`;
        rows.push(
          r.status === 0
            ? (JSON.parse(r.stdout) as Record<string, unknown>)
            : { impl: which, containers: size, mode: m, error: failure },
        );
      }
    }
  }
  console.table(rows);
}
