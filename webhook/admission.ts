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
import { planFromAnnotations, type DeclaredPort, type PlanDefaults } from './annotations.js';
import { findCopiableIdentity, IdentityError, resolveAwsIdentity, type ServiceAccountView } from './inject/aws-identity.js';
import { appContainers, injectPod } from './inject/index.js';
import { capList, MAX_JSON_DEPTH, MAX_MESSAGE_CHARS, MAX_WARNING_CHARS, nestedDeeperThan, safeText } from './limits.js';
import { encodePatch, podPatch } from './patch.js';
import type { Pod } from './plan.js';
import { quote } from './validate.js';
import { podPolicy } from './pod-policy.js';

const ADMISSION_API_VERSION = 'admission.k8s.io/v1';

export type Outcome = 'injected' | 'skipped' | 'denied' | 'invalid' | 'error';

export type ServiceAccountLookup = (namespace: string, name: string) => Promise<ServiceAccountView>;

export interface ReviewDeps {
  defaults: PlanDefaults;
  /** absent: ServiceAccounts are not read (VAULT_IRSA_WEBHOOK_KUBERNETES=off) */
  lookupServiceAccount?: ServiceAccountLookup;
}

export interface ReviewResult {
  httpStatus: 200 | 400;
  body: Record<string, unknown>;
  outcome: Outcome;
  /** for the log line: never a secret (the webhook sees none), only identifiers and reasons */
  log: { uid?: string; namespace?: string; pod?: string; operation?: string; reason?: string; ops?: number };
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** The Kubernetes Status shape, so kubectl and the apiserver log print the message as is. */
function statusBody(code: number, message: string): Record<string, unknown> {
  return { kind: 'Status', apiVersion: 'v1', status: 'Failure', code, reason: code === 400 ? 'BadRequest' : 'InternalError', message };
}

export function invalidRequest(message: string): ReviewResult {
  return { httpStatus: 400, body: statusBody(400, message), outcome: 'invalid', log: { reason: message } };
}

/** Checks the pod's structure enough that the builders can trust it; Kubernetes validates the rest. */
function podShapeProblems(obj: unknown): string[] {
  if (!isObject(obj)) return ['request.object is not an object'];
  const problems: string[] = [];
  if (obj.metadata !== undefined && !isObject(obj.metadata)) problems.push('metadata is not an object');
  const md = isObject(obj.metadata) ? obj.metadata : {};
  if (md.annotations !== undefined && md.annotations !== null && !isObject(md.annotations)) problems.push('metadata.annotations is not a map');
  if (md.ownerReferences !== undefined && !Array.isArray(md.ownerReferences)) problems.push('metadata.ownerReferences is not a list');
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
        if (!Array.isArray(items) || items.some((e) => !isObject(e))) {
          problems.push(`${at}.${sub} is not a list of objects`);
          continue;
        }
        if (sub === 'env' && items.some((e) => typeof e.name !== 'string')) problems.push(`${at}.env has an entry without a name`);
        if (sub === 'volumeMounts' && items.some((e) => typeof e.name !== 'string' || typeof e.mountPath !== 'string')) {
          problems.push(`${at}.volumeMounts has an entry without name or mountPath`);
        }
      }
    });
  };
  list('containers', true);
  list('initContainers', false);
  list('volumes', false);
  if (spec.serviceAccountName !== undefined && typeof spec.serviceAccountName !== 'string') problems.push('spec.serviceAccountName is not a string');
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

/** A deny message within MAX_MESSAGE_CHARS however many problems there are: the first ones, then a count. */
function denyMessage(problems: string[]): string {
  const prefix = 'vault-irsa: pod cannot be injected: ';
  return prefix + capList(problems, MAX_MESSAGE_CHARS - prefix.length, '; ', (n) => `and ${n} more problem${n === 1 ? '' : 's'}`).join('; ');
}

function cappedWarnings(warnings: string[]): string[] {
  return capList(warnings, MAX_WARNING_CHARS, '', (n) => `vault-irsa: and ${n} more warning${n === 1 ? '' : 's'}`);
}

export async function review(raw: unknown, deps: ReviewDeps): Promise<ReviewResult> {
  if (!isObject(raw)) return invalidRequest('body is not an AdmissionReview: expected a JSON object');
  // before anything walks the body recursively (value checks, the diff, JSON copies): no stack overflow
  if (nestedDeeperThan(raw, MAX_JSON_DEPTH)) return invalidRequest(`AdmissionReview is nested deeper than ${MAX_JSON_DEPTH} levels`);
  if (raw.kind !== 'AdmissionReview') return invalidRequest(`body is not an AdmissionReview: kind is ${quote(raw.kind ?? null)}`);
  if (raw.apiVersion !== ADMISSION_API_VERSION) {
    return invalidRequest(`AdmissionReview apiVersion ${quote(raw.apiVersion ?? null)} is not supported; use ${ADMISSION_API_VERSION} (admissionReviewVersions: [v1])`);
  }
  const req = raw.request;
  if (!isObject(req)) return invalidRequest('AdmissionReview has no request');
  if (typeof req.uid !== 'string' || req.uid === '') return invalidRequest('AdmissionReview request has no uid');
  const uid = req.uid;
  try {
    return await reviewRequest(uid, req, deps);
  } catch (err) {
    // a bug, not the pod's fault; still a well-formed answer the API server can act on, never a 500
    const reason = `internal error: ${safeText(err instanceof Error ? err.message : err)}`;
    return {
      httpStatus: 200,
      body: {
        apiVersion: ADMISSION_API_VERSION, kind: 'AdmissionReview',
        response: { uid, allowed: false, status: { code: 500, reason: 'InternalError', status: 'Failure', message: 'vault-irsa: internal error while reviewing this pod (see the webhook\'s log)' } },
      },
      outcome: 'error',
      log: { uid: safeText(uid, 100), reason },
    };
  }
}

async function reviewRequest(uid: string, req: Record<string, unknown>, deps: ReviewDeps): Promise<ReviewResult> {
  const operation = typeof req.operation === 'string' ? req.operation : undefined;
  const namespaceFromReq = typeof req.namespace === 'string' && req.namespace !== '' ? req.namespace : undefined;

  const respond = (outcome: Outcome, response: Record<string, unknown>, log: ReviewResult['log']): ReviewResult => ({
    httpStatus: 200,
    body: { apiVersion: ADMISSION_API_VERSION, kind: 'AdmissionReview', response: { uid, ...response } },
    outcome,
    log: { uid: safeText(uid, 100), ...(operation !== undefined ? { operation: safeText(operation, 20) } : {}), ...log },
  });
  const allow = (reason: string, extra: ReviewResult['log'] = {}, warnings: string[] = []): ReviewResult =>
    respond('skipped', { allowed: true, ...(warnings.length > 0 ? { warnings: cappedWarnings(warnings) } : {}) }, { reason, ...extra });
  const deny = (problems: string[], extra: ReviewResult['log']): ReviewResult => {
    const message = denyMessage(problems);
    return respond('denied', { allowed: false, status: { code: 400, reason: 'BadRequest', status: 'Failure', message } }, { reason: message, ...extra });
  };

  const kind = isObject(req.kind) ? req.kind : undefined;
  if (!kind || kind.kind !== 'Pod' || (kind.group ?? '') !== '') {
    return allow(`not a Pod (${kind ? `${safeText(kind.group ?? '', 100)}/${safeText(kind.kind, 100)}` : 'no kind'})`);
  }
  if (typeof req.subResource === 'string' && req.subResource !== '') return allow(`subresource ${safeText(req.subResource, 100)}`);
  if (operation !== 'CREATE') return allow(`operation ${safeText(operation ?? 'missing', 20)}: only CREATE is injected`);
  if (req.object === undefined || req.object === null) return deny(['request.object is missing'], {});

  const shape = podShapeProblems(req.object);
  if (shape.length > 0) return deny(shape, {});
  const pod = req.object as unknown as Pod;
  // strings only: these reach messages and template literals, and a hand-made review may put anything here
  const str = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);
  const podName = safeText(str(pod.metadata?.name) ?? (str(pod.metadata?.generateName) ? `${pod.metadata?.generateName}*` : ''), 253);
  const namespace = namespaceFromReq ?? str(pod.metadata?.namespace) ?? 'default';
  const logBase = { namespace, pod: podName };

  const plan = planFromAnnotations(pod.metadata?.annotations, deps.defaults, declaredPorts(pod));
  if (plan.action === 'skip') return allow(plan.reason, logBase, plan.warnings);
  if (plan.action === 'deny') return deny(plan.problems, logBase);

  const serviceAccountName = pod.spec.serviceAccountName || (typeof pod.spec.serviceAccount === 'string' && pod.spec.serviceAccount) || 'default';
  const apps = appContainers(pod);
  const policy = podPolicy(pod, apps, plan.plan.uid);
  if (policy.problems.length > 0) return deny(policy.problems, logBase);
  let serviceAccount: ServiceAccountView = { status: 'not_found' };
  // the lookup is needed only when the containers carry a whole identity to copy; the same test the copy makes
  // (a token file alone, without AWS_ROLE_ARN, is not one: the role then comes from the ServiceAccount)
  const needsLookup = findCopiableIdentity(apps) === undefined;
  if (needsLookup && deps.lookupServiceAccount) {
    try {
      serviceAccount = await deps.lookupServiceAccount(namespace, serviceAccountName);
    } catch (err) {
      serviceAccount = { status: 'unavailable', reason: err instanceof Error ? err.message : String(err) };
    }
  }

  let identity;
  try {
    identity = resolveAwsIdentity(pod, apps, plan.plan, { namespace, serviceAccountName, serviceAccount });
  } catch (err) {
    if (err instanceof IdentityError) return deny([err.message], logBase);
    throw err;
  }

  const injected = injectPod(pod, plan.plan, identity);
  if (!injected.ok) return deny(injected.problems, logBase);
  const ops = podPatch(req.object, injected.pod);
  const warnings = [...policy.warnings, ...injected.warnings];
  return respond(
    'injected',
    {
      allowed: true,
      ...(ops.length > 0 ? { patchType: 'JSONPatch', patch: encodePatch(ops) } : {}),
      ...(warnings.length > 0 ? { warnings: cappedWarnings(warnings) } : {}),
    },
    { ...logBase, reason: `injected (${plan.plan.mode}, identity ${identity.source})`, ops: ops.length },
  );
}
