/**
 * Evaluates a ValidatingAdmissionPolicy against a pod the way the API server does for CREATE: the
 * matchConstraints' namespace and object selectors, then matchConditions (any false: not matched), then the
 * variables in order (bound as `variables.<name>`), then each validation; a false validation yields its
 * messageExpression (falling back to message). CEL comes from @bufbuild/cel, a conformance-tested evaluator.
 * What it does not do is the API server's type check and cost estimate; the K3s tier covers those.
 */
import { run } from '@bufbuild/cel';

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

/** JSON → CEL input: objects become maps, whole numbers ints (Kubernetes' integers), the rest as is. */
export function toCel(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(toCel);
  if (isObj(v)) return new Map(Object.entries(v).map(([k, x]) => [k, toCel(x)]));
  if (typeof v === 'number' && Number.isInteger(v)) return BigInt(v);
  return v;
}

interface Requirement {
  key: string;
  operator: string;
  values?: string[];
}

function selects(selector: unknown, labels: Record<string, string>): boolean {
  if (!isObj(selector)) return true;
  const matchLabels = isObj(selector.matchLabels) ? selector.matchLabels : {};
  for (const [k, v] of Object.entries(matchLabels)) if (labels[k] !== v) return false;
  for (const r of (Array.isArray(selector.matchExpressions) ? selector.matchExpressions : []) as Requirement[]) {
    const has = r.key in labels;
    const value = labels[r.key];
    const values = r.values ?? [];
    if (r.operator === 'In' && !(has && values.includes(value as string))) return false;
    if (r.operator === 'NotIn' && has && values.includes(value as string)) return false;
    if (r.operator === 'Exists' && !has) return false;
    if (r.operator === 'DoesNotExist' && has) return false;
  }
  return true;
}

export type PolicyResult = { matched: false; reason: string } | { matched: true; allowed: boolean; messages: string[] };

function evalBool(expression: string, bindings: Record<string, unknown>, what: string): boolean {
  const r = run(expression, bindings as never);
  if (typeof r !== 'boolean') throw new Error(`${what} did not evaluate to a bool: ${String(r)}`);
  return r;
}

/** `pod` is the object the API server would store; `namespace` is where it is created. */
export function evaluatePolicy(policy: Obj, pod: Obj, namespace: string): PolicyResult {
  const spec = policy.spec as Obj;
  const constraints = spec.matchConstraints as Obj;
  const rules = constraints.resourceRules as Array<{ operations: string[]; resources: string[] }>;
  if (!rules.some((r) => r.operations.includes('CREATE') && r.resources.includes('pods')))
    return { matched: false, reason: 'not a pod CREATE rule' };
  if (!selects(constraints.namespaceSelector, { 'kubernetes.io/metadata.name': namespace }))
    return { matched: false, reason: 'namespaceSelector' };
  const labels = (isObj(pod.metadata) && isObj(pod.metadata.labels) ? pod.metadata.labels : {}) as Record<
    string,
    string
  >;
  if (!selects(constraints.objectSelector, labels)) return { matched: false, reason: 'objectSelector' };

  const bindings: Record<string, unknown> = { object: toCel(pod), oldObject: null };
  for (const c of (spec.matchConditions ?? []) as Array<{ name: string; expression: string }>) {
    if (!evalBool(c.expression, bindings, `matchCondition ${c.name}`))
      return { matched: false, reason: `matchCondition ${c.name}` };
  }
  const variables = new Map<string, unknown>();
  bindings.variables = variables;
  for (const v of (spec.variables ?? []) as Array<{ name: string; expression: string }>) {
    variables.set(v.name, run(v.expression, bindings as never));
  }
  const messages: string[] = [];
  for (const v of spec.validations as Array<{ expression: string; message?: string; messageExpression?: string }>) {
    if (evalBool(v.expression, bindings, `validation ${v.expression}`)) continue;
    let message = v.message ?? `failed expression: ${v.expression}`;
    if (v.messageExpression !== undefined) {
      try {
        const m = run(v.messageExpression, bindings as never);
        if (typeof m === 'string' && m.trim() !== '') message = m;
      } catch {
        // the API server, too, falls back to message when messageExpression fails
      }
    }
    messages.push(message);
  }
  return { matched: true, allowed: messages.length === 0, messages };
}
