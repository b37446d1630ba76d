/**
 * The contract between the programs as a property: for any webhook configuration and annotation set the webhook
 * accepts, the env it writes into the sidecar container is one the sidecar's config parser accepts. This is the
 * test that catches a grammar drifting on one side only (as the role ARN's partitions once did).
 */
import fc from 'fast-check';
import { planFromAnnotations } from '../../../webhook/annotations.js';
import { loadWebhookConfig } from '../../../webhook/config.js';
import { IdentityError, resolveAwsIdentity } from '../../../webhook/inject/aws-identity.js';
import { sidecarEnv } from '../../../webhook/inject/sidecar-container.js';
import type { Pod } from '../../../webhook/plan.js';
import { parseConfig } from '../../../sidecar/config.js';
import { PARTITIONS } from '../../../sidecar/contract/grammars.js';
import { ANNOTATIONS as A, SECRET_ANNOTATION_PREFIX } from '../../../sidecar/contract/names.js';

const chars = (s: string, maxLength = 24): fc.Arbitrary<string> =>
  fc.string({ unit: fc.constantFrom(...s.split('')), maxLength });
/**
 * Values drawn around each grammar: mostly inside or on its edges (what the property is about: values the
 * webhook accepts), sometimes outside (so the webhook's refusals stay exercised). Outside values are rare,
 * or almost every pod would be denied for one of its dozen annotations.
 */
const mostly = <T>(plausible: fc.Arbitrary<T>, other: fc.Arbitrary<T>): fc.Arbitrary<T> =>
  fc.oneof({ arbitrary: plausible, weight: 15 }, { arbitrary: other, weight: 1 });
const hostile = fc.oneof(
  fc.string({ maxLength: 12 }),
  fc.constantFrom('', ' ', '..', '/', 'a b', 'x\n', '%2e', '\u0000'),
);

const regionPrefixes = [
  'us',
  'eu',
  'ap',
  'il',
  'mx',
  'cn',
  'eusc-de',
  'us-gov',
  'us-iso',
  'us-isob',
  'eu-isoe',
  'us-isof',
];
const region = mostly(
  fc.oneof(
    fc
      .tuple(fc.constantFrom(...regionPrefixes), fc.stringMatching(/^\w{1,12}$/), fc.stringMatching(/^\d{1,3}$/))
      .map(([p, w, d]) => `${p}-${w}-${d}`),
    fc.constantFrom('us-east-1', 'eusc-de-east-1', 'cn-north-1', 'us-isob-east-1'),
  ),
  fc.oneof(hostile, fc.constantFrom('aws-global', 'xx-east-1', 'eusc-fr-east-1', `us-${'e'.repeat(60)}-1`)),
);
const iamChars = fc.stringMatching(/^[\w+=,.@-]{1,40}$/);
const roleArn = mostly(
  fc
    .tuple(
      fc.constantFrom(...PARTITIONS.map((p) => p.id)),
      fc.stringMatching(/^\d{12}$/),
      fc.array(fc.oneof(iamChars, fc.stringMatching(/^[\w+=,.@-]{100,200}$/)), { maxLength: 4 }),
      fc.oneof(iamChars, fc.stringMatching(/^[\w+=,.@-]{60,66}$/)),
    )
    .map(([p, acct, segs, name]) => `arn:${p}:iam::${acct}:role/${segs.map((s) => `${s}/`).join('')}${name}`),
  fc.oneof(
    hostile,
    fc.constantFrom(
      'arn:aws-iso-x:iam::123456789012:role/a',
      'arn:aws:iam::12345678901:role/a',
      'arn:aws:iam::123456789012:user/a',
    ),
  ),
);
const duration = mostly(
  fc.oneof(
    fc.tuple(fc.nat(160), fc.constantFrom('000ms', 's', 'm', 'h', '')).map(([n, u]) => `${n}${u}`),
    fc.constantFrom('1h30m', '0.5s', '1000ms', '168h', '7d', '604800'),
  ),
  hostile,
);
const port = mostly(
  fc.integer({ min: 1024, max: 65_535 }).map(String),
  fc.oneof(hostile, fc.constantFrom('1023', '65536', '080')),
);
const segment = fc.stringMatching(/^\w[\w.-]{0,9}$/);
const mountLike = fc
  .tuple(fc.array(segment, { minLength: 1, maxLength: 3 }), fc.boolean())
  .map(([s, slash]) => s.join('/') + (slash ? '/' : ''));
const vaultPath = mostly(
  fc.oneof(
    { arbitrary: mountLike, weight: 8 },
    {
      arbitrary: fc.constantFrom('secret/my-app', 'kv/data/a.b', 'sys/x', 'Auth/x', 'cubbyhole/', 'a//b', './a'),
      weight: 1,
    },
  ),
  fc.oneof(hostile, chars('ab/%?# \\', 8)),
);
const secrets = fc.dictionary(
  mostly(
    fc.stringMatching(/^[a-z0-9]([a-z0-9-]{0,10}[a-z0-9])?$/),
    fc.constantFrom('A', 'a_b', '-a', 'a'.repeat(64)),
  ).map((n) => `${SECRET_ANNOTATION_PREFIX}${n}`),
  vaultPath,
  { maxKeys: 4 },
);
const VAULT_ADDRS = [
  'https://vault.example.com:8200',
  'https://vault-b.example.com:8200/',
  'http://10.0.0.1:8200',
  'https://v.example/ns/',
];

const annotations = fc.record(
  {
    [A.role]: mostly(
      fc.stringMatching(/^\w([\w.@-]{0,30}\w)?$/),
      fc.oneof(hostile, fc.constantFrom('a/b', 'x'.repeat(129))),
    ),
    [A.authMount]: mostly(
      fc.array(segment, { minLength: 1, maxLength: 3 }).map((s) => s.join('/')),
      hostile,
    ),
    [A.vaultAddr]: mostly(
      fc.constantFrom(...VAULT_ADDRS),
      fc.constantFrom('ftp://x', 'https://u:p@vault.example.com:8200', 'https://other.example'),
    ),
    [A.vaultNamespace]: mostly(mountLike, hostile),
    [A.iamServerId]: mostly(
      fc.stringMatching(/^[\x21-\x7e][\x20-\x7e]{0,40}$/),
      fc.string({ unit: 'binary-ascii', maxLength: 30 }),
    ),
    [A.stsRegion]: region,
    [A.awsRoleArn]: roleArn,
    [A.port]: port,
    [A.healthPort]: port,
    [A.mode]: mostly(fc.constantFrom('native', 'classic'), fc.constant('other')),
    [A.refresh]: duration,
    [A.vaultApi]: fc.constantFrom('true', 'false'),
  },
  { requiredKeys: [A.role] },
);

const webhookEnv = fc.record(
  {
    VAULT_IRSA_WEBHOOK_STS_REGION: region,
    VAULT_IRSA_WEBHOOK_AWS_REGION: region,
    VAULT_IRSA_WEBHOOK_IAM_SERVER_ID: mostly(
      fc.stringMatching(/^[\x21-\x7e][\x20-\x7e]{0,40}$/),
      fc.string({ unit: 'binary-ascii', maxLength: 30 }),
    ),
    VAULT_IRSA_WEBHOOK_VAULT_ADDR: fc.constantFrom(...VAULT_ADDRS),
  },
  { requiredKeys: ['VAULT_IRSA_WEBHOOK_VAULT_ADDR'] },
);

const POD: Pod = {
  metadata: { namespace: 'demo' },
  spec: { containers: [{ name: 'app' }], serviceAccountName: 'app' },
};
const SA_ROLE = 'arn:aws:iam::111122223333:role/app';

test('every sidecar env the webhook writes is one the sidecar accepts', () => {
  let injected = 0;
  fc.assert(
    fc.property(webhookEnv, fc.tuple(annotations, secrets), (env, [ann, secretAnn]) => {
      let defaults;
      try {
        defaults = loadWebhookConfig({
          ...env,
          VAULT_IRSA_WEBHOOK_ALLOWED_VAULT_ADDRS: VAULT_ADDRS.join(','),
          VAULT_IRSA_WEBHOOK_KUBERNETES: 'off',
        });
      } catch {
        return; // a configuration the webhook refuses to start with writes nothing
      }
      const result = planFromAnnotations({ ...ann, ...secretAnn }, defaults);
      if (result.action !== 'inject') return;
      injected++;
      const identity = resolveAwsIdentity(POD, POD.spec.containers, result.plan, {
        namespace: 'demo',
        serviceAccountName: 'app',
        serviceAccount: { status: 'found', annotations: { 'eks.amazonaws.com/role-arn': SA_ROLE } },
      });
      const sidecar: Record<string, string> = {};
      for (const e of sidecarEnv(result.plan, identity)) if (typeof e.value === 'string') sidecar[e.name] = e.value;
      const config = parseConfig(sidecar);
      expect(config.role).toBe(result.plan.role);
      expect(config.secrets.map((s) => s.name)).toEqual(Object.keys(result.plan.secrets));
    }),
    { numRuns: 2000 },
  );
  // the property is empty if nothing is ever injected
  expect(injected).toBeGreaterThan(200);
});

const appAwsEnv = fc.record(
  {
    AWS_ROLE_ARN: roleArn,
    AWS_REGION: region,
    AWS_DEFAULT_REGION: region,
    AWS_ROLE_SESSION_NAME: mostly(
      fc.stringMatching(/^[\w+=,.@-]{2,64}$/),
      fc.oneof(hostile, fc.constantFrom('a', 'x'.repeat(65), 'a b')),
    ),
    AWS_ENDPOINT_URL_STS: mostly(
      fc.constantFrom('https://sts.us-east-1.amazonaws.com', 'http://127.0.0.1:4566'),
      fc.oneof(hostile, fc.constant('sts.local')),
    ),
    AWS_CONTAINER_CREDENTIALS_FULL_URI: mostly(
      fc.constant('http://169.254.170.23/v1/credentials'),
      fc.oneof(hostile, fc.constant('not a url')),
    ),
  },
  { requiredKeys: ['AWS_ROLE_ARN', 'AWS_CONTAINER_CREDENTIALS_FULL_URI'] },
);

test('an identity copied from an app container is denied, or one the sidecar starts with', () => {
  const defaults = loadWebhookConfig({
    VAULT_IRSA_WEBHOOK_VAULT_ADDR: VAULT_ADDRS[0],
    VAULT_IRSA_WEBHOOK_KUBERNETES: 'off',
  });
  let copied = 0;
  let denied = 0;
  fc.assert(
    fc.property(appAwsEnv, fc.boolean(), (aws, podIdentity) => {
      const env = Object.entries(aws).map(([name, value]) => ({ name, value }));
      env.push(
        podIdentity
          ? {
              name: 'AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE',
              value: '/var/run/secrets/pods.eks.amazonaws.com/serviceaccount/eks-pod-identity-token',
            }
          : { name: 'AWS_WEB_IDENTITY_TOKEN_FILE', value: '/var/run/secrets/eks.amazonaws.com/serviceaccount/token' },
      );
      const pod: Pod = { metadata: { namespace: 'demo' }, spec: { containers: [{ name: 'app', env }] } };
      const result = planFromAnnotations({ [A.role]: 'app', [`${SECRET_ANNOTATION_PREFIX}db`]: 'secret/db' }, defaults);
      if (result.action !== 'inject') throw new Error('the plan must inject');
      let identity;
      try {
        identity = resolveAwsIdentity(pod, pod.spec.containers, result.plan, {
          namespace: 'demo',
          serviceAccountName: 'app',
          serviceAccount: { status: 'found', annotations: {} },
        });
      } catch (e) {
        if (!(e instanceof IdentityError)) throw e;
        denied++;
        return;
      }
      // without a copy the sidecar waits for Pod Identity to be added later (admitted with a warning)
      if (!identity.source.startsWith('copied')) return;
      copied++;
      const sidecar: Record<string, string> = {};
      for (const e of sidecarEnv(result.plan, identity)) if (typeof e.value === 'string') sidecar[e.name] = e.value;
      expect(() => parseConfig(sidecar)).not.toThrow();
    }),
    { numRuns: 1000 },
  );
  expect(copied).toBeGreaterThan(100);
  expect(denied).toBeGreaterThan(10);
});
