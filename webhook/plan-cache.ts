/**
 * planFromAnnotations, remembered. The pods of one Deployment, StatefulSet or Job carry the same annotations and
 * ports, so the API server asks for the same plan again and again (scaling to 100 replicas is 100 reviews).
 * planFromAnnotations is pure and reads nothing but the `vault-irsa.io/` annotations, the declared ports and the
 * webhook's defaults, so its answer is kept per (those annotations, those ports), one cache per defaults object.
 * Every review shares a kept answer, so it is frozen all the way down: code that wrote to it would throw, not
 * change the next pod's plan. Bounded: MAX_PLANS answers (the oldest goes first), and a key longer than
 * MAX_KEY_CHARS is planned every time instead of kept.
 */
import { PREFIX, planFromAnnotations, type DeclaredPort, type PlanDefaults, type PlanResult } from './annotations.js';
import { deepFreeze } from './reused-json.js';

export const MAX_PLANS = 256;
export const MAX_KEY_CHARS = 8192;

const caches = new WeakMap<PlanDefaults, Map<string, PlanResult>>();

/** The cache key: what planFromAnnotations reads, in its order; undefined for input it is not worth keeping. */
function keyOf(annotations: unknown, ports: DeclaredPort[]): string | undefined {
  if (annotations === undefined || annotations === null) return JSON.stringify([null, ports]);
  if (typeof annotations !== 'object' || Array.isArray(annotations)) return undefined;
  const ours: unknown[] = [];
  const all = annotations as Record<string, unknown>;
  for (const k in all) if (k.startsWith(PREFIX)) ours.push(k, all[k]);
  const key = JSON.stringify([ours, ports]);
  return key.length <= MAX_KEY_CHARS ? key : undefined;
}

export function cachedPlan(annotations: unknown, defaults: PlanDefaults, ports: DeclaredPort[]): PlanResult {
  const key = keyOf(annotations, ports);
  if (key === undefined) return planFromAnnotations(annotations, defaults, ports);
  let cache = caches.get(defaults);
  if (cache === undefined) caches.set(defaults, (cache = new Map<string, PlanResult>()));
  const kept = cache.get(key);
  if (kept !== undefined) return kept;
  const plan = deepFreeze(planFromAnnotations(annotations, defaults, ports));
  if (cache.size >= MAX_PLANS) cache.delete(cache.keys().next().value as string);
  cache.set(key, plan);
  return plan;
}
