import { planFromAnnotations } from '../../../webhook/annotations.js';
import { TEST_CONFIG } from './helpers.js';

const role = { 'vault-irsa.io/role': 'app' };

function plan(annotations: Record<string, unknown>, ports: Array<{ port: number; container: string }> = []) {
  const r = planFromAnnotations(annotations, TEST_CONFIG, ports);
  if (r.action !== 'inject') throw new Error(`expected inject, got ${JSON.stringify(r)}`);
  return r.plan;
}
function problems(
  annotations: Record<string, unknown>,
  ports: Array<{ port: number; container: string }> = [],
): string[] {
  const r = planFromAnnotations(annotations, TEST_CONFIG, ports);
  if (r.action !== 'deny') throw new Error(`expected deny, got ${JSON.stringify(r)}`);
  return r.problems;
}

test('defaults come from the contract and the webhook config', () => {
  const p = plan(role);
  expect(p).toMatchObject({
    role: 'app',
    authMount: 'aws',
    vaultAddr: 'https://vault.example.com:8200',
    iamServerId: 'vault.example.com',
    stsRegion: 'us-east-1',
    port: 8765,
    healthPort: 8766,
    mode: 'native',
    refresh: '5m',
    secrets: {},
  });
  expect(p.awsRoleArn).toBeUndefined();
});

test('skip: no role, opted out, already injected; stray annotations get a warning', () => {
  expect(planFromAnnotations(undefined, TEST_CONFIG).action).toBe('skip');
  expect(planFromAnnotations({ ...role, 'vault-irsa.io/inject': 'false' }, TEST_CONFIG).action).toBe('skip');
  expect(
    planFromAnnotations({ ...role, 'vault-irsa.io/status': 'injected', 'vault-irsa.io/port': 'bad' }, TEST_CONFIG)
      .action,
  ).toBe('skip');
  const stray = planFromAnnotations({ 'vault-irsa.io/secret-db': 'secret/db' }, TEST_CONFIG);
  expect(stray).toMatchObject({ action: 'skip' });
  expect(stray.action === 'skip' && stray.warnings[0]).toMatch(/vault-irsa\.io\/secret-db.*no vault-irsa\.io\/role/);
});

test('secrets are sorted by name and keep the path as written', () => {
  const p = plan({
    ...role,
    'vault-irsa.io/secret-z': 'kv1/z',
    'vault-irsa.io/secret-a': 'secret/a/b',
    'vault-irsa.io/secret-db': 'database/creds/app',
  });
  expect(Object.entries(p.secrets)).toEqual([
    ['a', 'secret/a/b'],
    ['db', 'database/creds/app'],
    ['z', 'kv1/z'],
  ]);
});

test('vault-addr must be allow-listed, compared after normalisation', () => {
  expect(plan({ ...role, 'vault-irsa.io/vault-addr': 'https://VAULT-B.example.com:8200/' }).vaultAddr).toBe(
    'https://vault-b.example.com:8200',
  );
  expect(problems({ ...role, 'vault-irsa.io/vault-addr': 'http://vault.example.com:8200' })[0]).toMatch(
    /^vault-irsa\.io\/vault-addr: "http:\/\/vault.example.com:8200" is not in the webhook's allow-list/,
  );
});

test('a port annotation that clashes with a declared container port names the annotation, value and container', () => {
  const [p] = problems({ ...role, 'vault-irsa.io/port': '8080' }, [{ port: 8080, container: 'web' }]);
  expect(p).toContain('vault-irsa.io/port');
  expect(p).toContain('8080');
  expect(p).toContain('"web"');
});

test('only the port given equal to the default health port is reported once', () => {
  const ps = problems({ ...role, 'vault-irsa.io/port': '8766' });
  expect(ps).toHaveLength(1);
  expect(ps[0]).toMatch(/^vault-irsa\.io\/port: "8766" must differ from vault-irsa\.io\/health-port/);
});

test('resources: overrides, and a request above the default limit raises the limit', () => {
  expect(plan({ ...role, 'vault-irsa.io/memory-request': '200Mi' }).resources).toEqual({
    requests: { cpu: '10m', memory: '200Mi' },
    limits: { memory: '200Mi' },
  });
  expect(plan({ ...role, 'vault-irsa.io/cpu-limit': '500m' }).resources.limits).toEqual({
    cpu: '500m',
    memory: '128Mi',
  });
  expect(problems({ ...role, 'vault-irsa.io/memory-limit': '16Mi' })[0]).toMatch(
    /^vault-irsa\.io\/memory-limit: "16Mi" is smaller than/,
  );
});

test('non-string values and unknown keys are reported with the full key', () => {
  const ps = problems({ ...role, 'vault-irsa.io/port': 8765, 'vault-irsa.io/colour': 'blue' });
  expect(ps.some((p) => p.startsWith('vault-irsa.io/port: "8765" is not a string'))).toBe(true);
  expect(ps.some((p) => p.startsWith('vault-irsa.io/colour: "blue" is not a vault-irsa annotation'))).toBe(true);
});

test.each([
  ['vault-irsa.io/refresh', '0s'],
  ['vault-irsa.io/refresh', '5 m'],
  ['vault-irsa.io/secret-db', 'secret//db'],
  ['vault-irsa.io/secret-db', 'secret/db?version=1'],
  ['vault-irsa.io/secret-db', ' '],
  ['vault-irsa.io/secret-', 'secret/db'],
  ['vault-irsa.io/auth-mount', ''],
  ['vault-irsa.io/vault-namespace', 'team a'],
  ['vault-irsa.io/iam-server-id-header', ''],
  ['vault-irsa.io/aws-role-arn', 'arn:aws:iam::111122223333:role/'],
  ['vault-irsa.io/health-port', '80'],
  ['vault-irsa.io/role', 'has space'],
  ['vault-irsa.io/cpu-limit', '-1'],
])('%s=%j is denied with the key and value', (key, value) => {
  const ps = problems({ ...role, [key]: value });
  expect(ps).toHaveLength(1);
  expect(ps[0]).toContain(key);
  expect(ps[0]).toContain(JSON.stringify(value));
});

test.each(['1h30m', '90s', '2m30s', '45'])(
  'refresh %j is accepted, as the sidecar reads VAULT_IRSA_REFRESH',
  (value) => {
    expect(plan({ ...role, 'vault-irsa.io/refresh': value }).refresh).toBe(value);
  },
);

test('vault-api: "true" asks for VAULT_ADDR in the app containers, "false" or absent does not, anything else denies', () => {
  expect(plan({ ...role, 'vault-irsa.io/vault-api': 'true' }).vaultApi).toBe(true);
  expect(plan({ ...role, 'vault-irsa.io/vault-api': 'false' }).vaultApi).toBeUndefined();
  expect(plan(role).vaultApi).toBeUndefined();
  for (const v of ['TRUE', 'yes', '1', '', ' true']) {
    expect(problems({ ...role, 'vault-irsa.io/vault-api': v })).toEqual([
      `vault-irsa.io/vault-api: ${JSON.stringify(v)} must be "true" or "false"`,
    ]);
  }
});
