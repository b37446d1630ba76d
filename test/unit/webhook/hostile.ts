/**
 * Hostile AdmissionReview bodies, as JSON text (deep nesting is spliced in as text: building it as an object
 * and stringifying would overflow this process's stack first). Shared by the unit property test and the one
 * over the real HTTPS server.
 */
import fc from 'fast-check';
import { admissionReview } from './helpers.js';

const DEEP = '__vault_irsa_deep__';

/** A valid, injectable pod review: the starting point every mutation breaks in one place. */
export function baseReview(): Record<string, unknown> {
  return admissionReview(
    {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: {
        name: 'web',
        namespace: 'demo',
        annotations: {
          'vault-irsa.io/role': 'app',
          'vault-irsa.io/secret-db': 'secret/db',
          'vault-irsa.io/aws-role-arn': 'arn:aws:iam::111122223333:role/app',
        },
        ownerReferences: [{ kind: 'ReplicaSet', name: 'web-1' }],
      },
      spec: {
        serviceAccountName: 'app',
        securityContext: { runAsUser: 10001 },
        containers: [
          {
            name: 'app',
            image: 'busybox',
            ports: [{ containerPort: 8080 }],
            env: [
              { name: 'A', value: 'x' },
              { name: 'AWS_ROLE_ARN', value: 'arn:aws:iam::111122223333:role/app' },
              { name: 'AWS_WEB_IDENTITY_TOKEN_FILE', value: '/var/run/secrets/eks.amazonaws.com/serviceaccount/token' },
            ],
            volumeMounts: [{ name: 'aws-iam-token', mountPath: '/var/run/secrets/eks.amazonaws.com/serviceaccount' }],
            securityContext: { runAsUser: 10001 },
          },
        ],
        initContainers: [{ name: 'init', image: 'busybox' }],
        volumes: [{ name: 'aws-iam-token', projected: { sources: [] } }],
      },
    },
    { uid: 'hostile' },
  );
}

/** Every path (list of keys/indices) to a value inside `v`, the root included. */
export function pathsOf(v: unknown, at: Array<string | number> = []): Array<Array<string | number>> {
  const out = [at];
  if (Array.isArray(v)) v.forEach((e, i) => out.push(...pathsOf(e, [...at, i])));
  else if (v !== null && typeof v === 'object')
    for (const [k, e] of Object.entries(v)) out.push(...pathsOf(e, [...at, k]));
  return out;
}

function setAt(root: Record<string, unknown>, path: Array<string | number>, value: unknown, addKey?: string): unknown {
  if (path.length === 0) return value;
  let parent = root as Record<string | number, unknown>;
  for (const k of path.slice(0, -1)) parent = parent[k] as Record<string | number, unknown>;
  const last = path[path.length - 1] as string | number;
  const target = parent[last];
  if (addKey !== undefined && target !== null && typeof target === 'object' && !Array.isArray(target)) {
    (target as Record<string, unknown>)[addKey] = value;
  } else {
    parent[last] = value;
  }
  return root;
}

const prototypeKeys = fc.constantFrom(
  'toString',
  'valueOf',
  'constructor',
  '__proto__',
  'hasOwnProperty',
  'toJSON',
  'length',
  'then',
);
const oddString = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 30 }),
  fc.constantFrom(
    '\ud800',
    '\udfff',
    'a\u0000b',
    '\u202e',
    '\ufeff',
    '𝕍𝕒𝕦𝕝𝕥',
    'e\u0301',
    '\u2028\u2029',
    '%00',
    '../..',
    'x'.repeat(5000),
  ),
);
/** Values of the wrong type, objects whose keys shadow Object.prototype, odd strings, big and deep values. */
const hostileValue: fc.Arbitrary<unknown> = fc.oneof(
  fc.jsonValue({ maxDepth: 3 }),
  oddString,
  fc.dictionary(prototypeKeys, fc.oneof(fc.integer(), oddString, fc.constant(null), fc.constant({})), {
    minKeys: 1,
    maxKeys: 3,
  }),
  fc.constantFrom(null, true, 0, -1, 1e308, -0, [], {}, [[]], [{}], ''),
  fc.integer({ min: 1000, max: 200_000 }).map((n) => Array.from({ length: n }, (_, i) => i)),
  fc.constant(DEEP),
);

export interface HostileBody {
  text: string;
  /** what was done, for the failure message */
  what: string;
}

/** A base review broken at one place: replaced by (or, in an object, given an extra key with) a hostile value. */
export const hostileBody: fc.Arbitrary<HostileBody> = fc
  .record({
    pick: fc.nat(),
    value: hostileValue,
    addKey: fc.option(fc.oneof(prototypeKeys, fc.constantFrom('unknownField', 'vault-irsa.io/secret-x')), {
      nil: undefined,
    }),
    depth: fc.integer({ min: 101, max: 10_000 }),
  })
  .map(({ pick, value, addKey, depth }) => {
    const base = baseReview();
    const paths = pathsOf(base);
    const path = paths[pick % paths.length] as Array<string | number>;
    const broken = setAt(base, path, value, addKey);
    const deepText = `${'{"a":['.repeat(depth)}1${']}'.repeat(depth)}`;
    const text = JSON.stringify(broken).split(JSON.stringify(DEEP)).join(deepText);
    const shown =
      typeof value === 'string' && value === DEEP
        ? `nesting ${depth} deep`
        : Array.isArray(value) && value.length > 100
          ? `an array of ${value.length}`
          : JSON.stringify(value)?.slice(0, 80);
    const what = `${path.join('.') || '(root)'}${addKey !== undefined ? ` + key ${addKey}` : ''} = ${shown}`;
    // fast-check prints a failing value with this, not the (up to megabytes of) text
    return { text, what, [fc.toStringMethod]: () => `HostileBody(${what})` };
  });
