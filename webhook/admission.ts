/**
 * AdmissionReview (admission.k8s.io/v1) → the HTTP answer. Pure apart from the ServiceAccount lookup it
 * is given (which answers from a cache). Three kinds of answer:
 *  - 400 with a Status body: the request is not an AdmissionReview we can answer (bad JSON, wrong
 *    apiVersion/kind, no request or uid, nested deeper than MAX_JSON_DEPTH);
 *  - 200 allowed, with or without a patch: injected, or nothing to do (not a Pod, not CREATE, no role,
 *    opted out, already injected);
 *  - 200 allowed: false, status.code 400: the pod asked for injection and cannot get it as written
 *    (status.code 500 with outcome `error`: a bug caught on the way, so the answer is still well-formed).
 * Whatever the input, the work is linear in its size and the message and warnings are bounded (limits.ts).
 */
import type { DeclaredPort, PlanDefaults } from './annotations.js';
import { cachedPlan } from './plan-cache.js';
import {
  hasCopiableIdentity,
  IdentityError,
  resolveAwsIdentity,
  type ServiceAccountView,
} from './inject/aws-identity.js';
import { appContainers, injectPod } from './inject/index.js';
import {
  ADMISSION_API_VERSION,
  allowed,
  denied,
  errored,
  invalidRequest,
  patched,
  type RequestRef,
  type ReviewResult,
} from './admission-response.js';
import { MAX_JSON_DEPTH, nestedDeeperThan, safeText } from './limits.js';
import { podPatch } from './patch.js';
import type { Container, Pod } from './plan.js';
import { quote } from './validate.js';
import { podPolicy } from './pod-policy.js';

export { invalidRequest, responseJson, type Outcome, type ReviewResult } from './admission-response.js';

export type ServiceAccountLookup = (namespace: string, name: string) => Promise<ServiceAccountView>;

export interface ReviewDeps {
  defaults: PlanDefaults;
  /** absent: ServiceAccounts are not read (VAULT_IRSA_WEBHOOK_KUBERNETES=off) */
  lookupServiceAccount?: ServiceAccountLookup;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Checks the pod's structure enough that the builders can trust it; Kubernetes validates the rest. */
function podShapeProblems(obj: unknown): string[] {
  if (!isObject(obj)) return ['request.object is not an object'];
  const problems: string[] = [];
  if (obj.metadata !== undefined && !isObject(obj.metadata)) problems.push('metadata is not an object');
  const md = isObject(obj.metadata) ? obj.metadata : {};
  if (md.annotations !== undefined && md.annotations !== null && !isObject(md.annotations))
    problems.push('metadata.annotations is not a map');
  if (md.ownerReferences !== undefined && !Array.isArray(md.ownerReferences))
    problems.push('metadata.ownerReferences is not a list');
  if (!isObject(obj.spec)) return [...problems, 'spec is missing or not an object'];
  const spec = obj.spec;
  const list = (field: string, required: boolean): void => {
    const v = spec[field];
    if (v === undefined && !required) return;
    if (!Array.isArray(v) || (required && v.length === 0)) {
      problems.push(`spec.${field} ${required ? 'is missing or empty' : 'is not a list'}`);
      return;
    }
    if (field === 'volumes') {
      v.forEach((vol, i) => {
        if (!isObject(vol) || typeof vol.name !== 'string') problems.push(`spec.volumes[${i}] has no name`);
      });
      return;
    }
    v.forEach((c, i) => {
      const at = `spec.${field}[${i}]`;
      if (!isObject(c) || typeof c.name !== 'string') {
        problems.push(`${at} has no name`);
        return;
      }
      for (const sub of ['env', 'volumeMounts', 'ports'] as const) {
        const items = c[sub];
        if (items === undefined || items === null) continue;
        if (!Array.isArray(items) || !items.every(isObject)) {
          problems.push(`${at}.${sub} is not a list of objects`);
          continue;
        }
        if (sub === 'env' && items.some((e) => typeof e.name !== 'string'))
          problems.push(`${at}.env has an entry without a name`);
        if (
          sub === 'volumeMounts' &&
          items.some((e) => typeof e.name !== 'string' || typeof e.mountPath !== 'string')
        ) {
          problems.push(`${at}.volumeMounts has an entry without name or mountPath`);
        }
      }
    });
  };
  list('containers', true);
  list('initContainers', false);
  list('volumes', false);
  if (spec.serviceAccountName !== undefined && typeof spec.serviceAccountName !== 'string')
    problems.push('spec.serviceAccountName is not a string');
  return problems;
}

function declaredPorts(pod: Pod): DeclaredPort[] {
  const out: DeclaredPort[] = [];
  for (const c of appContainers(pod)) {
    for (const p of c.ports ?? []) {
      if (typeof p.containerPort === 'number') out.push({ port: p.containerPort, container: c.name });
    }
  }
  return out;
}

/** Step 1: the envelope. A body that is not an AdmissionReview we answer is a 400, before any recursive walk. */
function envelopeRequest(raw: unknown): { uid: string; req: Record<string, unknown> } | ReviewResult {
  if (!isObject(raw)) return invalidRequest('body is not an AdmissionReview: expected a JSON object');
  // before anything walks the body recursively (value checks, the diff, JSON copies): no stack overflow
  if (nestedDeeperThan(raw, MAX_JSON_DEPTH))
    return invalidRequest(`AdmissionReview is nested deeper than ${MAX_JSON_DEPTH} levels`);
  if (raw.kind !== 'AdmissionReview')
    return invalidRequest(`body is not an AdmissionReview: kind is ${quote(raw.kind ?? null)}`);
  if (raw.apiVersion !== ADMISSION_API_VERSION) {
    return invalidRequest(
      `AdmissionReview apiVersion ${quote(raw.apiVersion ?? null)} is not supported; use ${ADMISSION_API_VERSION} (admissionReviewVersions: [v1])`,
    );
  }
  const req = raw.request;
  if (!isObject(req)) return invalidRequest('AdmissionReview has no request');
  if (typeof req.uid !== 'string' || req.uid === '') return invalidRequest('AdmissionReview request has no uid');
  return { uid: req.uid, req };
}

export async function review(raw: unknown, deps: ReviewDeps): Promise<ReviewResult> {
  const envelope = envelopeRequest(raw);
  if ('httpStatus' in envelope) return envelope;
  try {
    return await reviewRequest(envelope.uid, envelope.req, deps);
  } catch (err) {
    return errored({ uid: envelope.uid }, err);
  }
}

/** Step 2: requests that are not a Pod CREATE pass unchanged; a CREATE without an object is denied. */
function outOfScope(ref: RequestRef, req: Record<string, unknown>): ReviewResult | undefined {
  const kind = isObject(req.kind) ? req.kind : undefined;
  if (!kind || kind.kind !== 'Pod' || (kind.group ?? '') !== '') {
    return allowed(
      ref,
      `not a Pod (${kind ? `${safeText(kind.group ?? '', 100)}/${safeText(kind.kind, 100)}` : 'no kind'})`,
    );
  }
  if (typeof req.subResource === 'string' && req.subResource !== '')
    return allowed(ref, `subresource ${safeText(req.subResource, 100)}`);
  if (ref.operation !== 'CREATE')
    return allowed(ref, `operation ${safeText(ref.operation ?? 'missing', 20)}: only CREATE is injected`);
  if (req.object === undefined || req.object === null) return denied(ref, ['request.object is missing']);
  return undefined;
}

/** Step 3: who the pod is, for the log and the lookups. Strings only: a hand-made review may put anything here. */
function podIdentity(req: Record<string, unknown>, pod: Pod): { namespace: string; pod: string } {
  const str = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);
  const name = safeText(
    str(pod.metadata?.name) ?? (str(pod.metadata?.generateName) ? `${pod.metadata?.generateName}*` : ''),
    253,
  );
  return { namespace: str(req.namespace) ?? str(pod.metadata?.namespace) ?? 'default', pod: name };
}

/**
 * Step 4: the pod's ServiceAccount, only when the containers carry no whole identity to copy (the same test the
 * copy makes: a token file alone, without AWS_ROLE_ARN, is not one; the role then comes from the ServiceAccount).
 */
async function serviceAccountFor(
  pod: Pod,
  apps: Container[],
  namespace: string,
  deps: ReviewDeps,
): Promise<{ name: string; view: ServiceAccountView }> {
  const name =
    pod.spec.serviceAccountName ||
    (typeof pod.spec.serviceAccount === 'string' && pod.spec.serviceAccount) ||
    'default';
  if (hasCopiableIdentity(apps) || !deps.lookupServiceAccount) return { name, view: { status: 'not_found' } };
  try {
    return { name, view: await deps.lookupServiceAccount(namespace, name) };
  } catch (err) {
    return { name, view: { status: 'unavailable', reason: err instanceof Error ? err.message : String(err) } };
  }
}

async function reviewRequest(uid: string, req: Record<string, unknown>, deps: ReviewDeps): Promise<ReviewResult> {
  const ref: RequestRef = { uid, ...(typeof req.operation === 'string' ? { operation: req.operation } : {}) };
  const skip = outOfScope(ref, req);
  if (skip) return skip;
  const shape = podShapeProblems(req.object);
  if (shape.length > 0) return denied(ref, shape);
  const pod = req.object as Pod;
  const who = podIdentity(req, pod);

  const plan = cachedPlan(pod.metadata?.annotations, deps.defaults, declaredPorts(pod));
  if (plan.action === 'skip') return allowed(ref, plan.reason, who, plan.warnings);
  if (plan.action === 'deny') return denied(ref, plan.problems, who);

  const apps = appContainers(pod);
  const policy = podPolicy(pod, apps, plan.plan.uid);
  if (policy.problems.length > 0) return denied(ref, policy.problems, who);
  const sa = await serviceAccountFor(pod, apps, who.namespace, deps);
  let identity;
  try {
    identity = resolveAwsIdentity(pod, apps, plan.plan, {
      namespace: who.namespace,
      serviceAccountName: sa.name,
      serviceAccount: sa.view,
    });
  } catch (err) {
    if (err instanceof IdentityError) return denied(ref, [err.message], who);
    throw err;
  }

  const injected = injectPod(pod, plan.plan, identity);
  if (!injected.ok) return denied(ref, injected.problems, who);
  const ops = podPatch(req.object, injected.pod);
  return patched(ref, ops, [...policy.warnings, ...injected.warnings], {
    ...who,
    reason: `injected (${plan.plan.mode}, identity ${identity.source})`,
  });
}
