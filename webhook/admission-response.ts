/**
 * The answers a review can give, one constructor each (as controller-runtime's admission/response.go has):
 * every AdmissionReview response is built here, so its shape, the message caps and the log fields are decided
 * in one place. Pure.
 */
import { capList, MAX_MESSAGE_CHARS, MAX_WARNING_CHARS, safeText } from './limits.js';
import type { Operation } from 'rfc6902';
import { encodePatch } from './patch.js';

export const ADMISSION_API_VERSION = 'admission.k8s.io/v1';

export type Outcome = 'injected' | 'skipped' | 'denied' | 'invalid' | 'error';

export interface ReviewResult {
  httpStatus: 200 | 400;
  body: Record<string, unknown>;
  outcome: Outcome;
  /** the patch in body.response exactly as encodePatch returned it (base64): responseJson copies it unscanned */
  base64Patch?: string;
  /** for the log line: never a secret (the webhook sees none), only identifiers and reasons */
  log: { uid?: string; namespace?: string; pod?: string; operation?: string; reason?: string; ops?: number };
}

/** What every answer to one request carries: its uid, and the operation for the log. */
export interface RequestRef {
  uid: string;
  operation?: string;
}

type LogFields = ReviewResult['log'];

/** The Kubernetes Status shape, so kubectl and the apiserver log print the message as is. */
function statusBody(code: number, message: string): Record<string, unknown> {
  return {
    kind: 'Status',
    apiVersion: 'v1',
    status: 'Failure',
    code,
    reason: code === 400 ? 'BadRequest' : 'InternalError',
    message,
  };
}

/** 400: the body is not an AdmissionReview this webhook can answer. */
export function invalidRequest(message: string): ReviewResult {
  return { httpStatus: 400, body: statusBody(400, message), outcome: 'invalid', log: { reason: message } };
}

/** A deny message within MAX_MESSAGE_CHARS however many problems there are: the first ones, then a count. */
function denyMessage(problems: string[]): string {
  const prefix = 'vault-irsa: pod cannot be injected: ';
  return (
    prefix +
    capList(
      problems,
      MAX_MESSAGE_CHARS - prefix.length,
      '; ',
      (n) => `and ${n} more problem${n === 1 ? '' : 's'}`,
    ).join('; ')
  );
}

function cappedWarnings(warnings: string[]): { warnings?: string[] } {
  if (warnings.length === 0) return {};
  return {
    warnings: capList(warnings, MAX_WARNING_CHARS, '', (n) => `vault-irsa: and ${n} more warning${n === 1 ? '' : 's'}`),
  };
}

function respond(ref: RequestRef, outcome: Outcome, response: Record<string, unknown>, log: LogFields): ReviewResult {
  return {
    httpStatus: 200,
    body: { apiVersion: ADMISSION_API_VERSION, kind: 'AdmissionReview', response: { uid: ref.uid, ...response } },
    outcome,
    log: {
      uid: safeText(ref.uid, 100),
      ...(ref.operation !== undefined ? { operation: safeText(ref.operation, 20) } : {}),
      ...log,
    },
  };
}

/** Allowed unchanged: nothing to inject (not a Pod, not CREATE, not opted in, already injected). */
export function allowed(ref: RequestRef, reason: string, log: LogFields = {}, warnings: string[] = []): ReviewResult {
  return respond(ref, 'skipped', { allowed: true, ...cappedWarnings(warnings) }, { reason, ...log });
}

/** Denied: the pod asked for injection and cannot get it as written; every problem is named. */
export function denied(ref: RequestRef, problems: string[], log: LogFields = {}): ReviewResult {
  const message = denyMessage(problems);
  return respond(
    ref,
    'denied',
    { allowed: false, status: { code: 400, reason: 'BadRequest', status: 'Failure', message } },
    { reason: message, ...log },
  );
}

/** Allowed with the injection as a JSON patch (none when the pod already is as injected). */
export function patched(ref: RequestRef, ops: Operation[], warnings: string[], log: LogFields): ReviewResult {
  const patch = ops.length > 0 ? encodePatch(ops) : undefined;
  const result = respond(
    ref,
    'injected',
    {
      allowed: true,
      ...(patch !== undefined ? { patchType: 'JSONPatch', patch } : {}),
      ...cappedWarnings(warnings),
    },
    { ...log, ops: ops.length },
  );
  if (patch !== undefined) result.base64Patch = patch;
  return result;
}

/**
 * The body as the API server receives it: JSON.stringify(result.body), except that an injection's patch is
 * spliced in as it is. encodePatch wrote it as base64 (A-Z a-z 0-9 + / =), which JSON never escapes, and
 * JSON.stringify would scan its ~4.5 KB a character at a time only to copy it (8 µs a review on Node 20).
 * Only a patch equal to result.base64Patch, which patched() alone sets to what encodePatch returned, is spliced;
 * anything else is serialised, so nothing needs scanning.
 * Same JSON value; `patch` comes last in `response`, and `response` last in the body.
 */
export function responseJson(result: ReviewResult): string {
  const base64 = result.base64Patch;
  const { response, ...others } = result.body;
  const r = response as Record<string, unknown> | undefined;
  if (base64 === undefined || r?.patch !== base64) return JSON.stringify(result.body);
  const { patch: _patch, ...rest } = r;
  return `${openObject(JSON.stringify(others))}"response":${openObject(JSON.stringify(rest))}"patch":"${base64}"}}`;
}

/** `{…}` → `{…,` ready for one more member (`{}` → `{`). */
function openObject(json: string): string {
  return json === '{}' ? '{' : `${json.slice(0, -1)},`;
}

/** A bug caught on the way, not the pod's fault: still a well-formed answer the API server can act on, never a 500. */
export function errored(ref: RequestRef, err: unknown): ReviewResult {
  const reason = `internal error: ${safeText(err instanceof Error ? err.message : err)}`;
  const status = {
    code: 500,
    reason: 'InternalError',
    status: 'Failure',
    message: "vault-irsa: internal error while reviewing this pod (see the webhook's log)",
  };
  return respond({ uid: ref.uid }, 'error', { allowed: false, status }, { reason });
}
