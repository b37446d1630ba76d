/**
 * vault-irsa.io/secret-<name> must not name Vault's own auth/, sys/, identity/, cubbyhole/, in any spelling the
 * sidecar would read as one of them: the property is stated against the sidecar's own normalisation
 * (validateSecretPath), so a spelling the webhook lets through and the sidecar turns into sys/... fails it.
 */
import fc from 'fast-check';
import { planFromAnnotations } from '../../../webhook/annotations.js';
import { checkVaultPath, RESERVED_VAULT_PREFIXES } from '../../../webhook/validate.js';
import { validateSecretPath } from '../../../sidecar/config.js';
import { TEST_CONFIG } from './helpers.js';

const randomCase = (s: string, mask: number): string =>
  [...s].map((ch, i) => ((mask >> i) & 1 ? ch.toUpperCase() : ch)).join('');

/** A reserved path in the spellings a user might try: case, leading and doubled slashes, dot segments, spaces. */
const reservedSpelling = fc
  .record({
    prefix: fc.constantFrom(...RESERVED_VAULT_PREFIXES),
    mask: fc.nat(),
    lead: fc.constantFrom('', '/', '//', './', ' ', '/./', 'secret/../'),
    sep: fc.constantFrom('/', '//', '/./'),
    rest: fc.constantFrom('', 'token/lookup-self', 'raw/core', 'mounts', 'oidc/token/app', 'x'),
    trail: fc.constantFrom('', '/', ' ', '//'),
  })
  .map(
    ({ prefix, mask, lead, sep, rest, trail }) =>
      `${lead}${randomCase(prefix, mask)}${rest === '' ? '' : sep + rest}${trail}`,
  );

const deniedFor = (path: string): string[] => {
  const r = planFromAnnotations({ 'vault-irsa.io/role': 'app', 'vault-irsa.io/secret-x': path }, TEST_CONFIG);
  return r.action === 'deny' ? r.problems : [];
};

test('every spelling of a reserved path is denied, naming the annotation and quoting the value', () => {
  fc.assert(
    fc.property(reservedSpelling, (path) => {
      const problems = deniedFor(path);
      expect(problems).toHaveLength(1);
      expect(problems[0]).toContain(`vault-irsa.io/secret-x: ${JSON.stringify(path)}`);
    }),
    { numRuns: 2000 },
  );
});

test('no path the webhook accepts is one the sidecar would read under a reserved prefix', () => {
  const candidate = fc.oneof(reservedSpelling, fc.string({ maxLength: 24 }), fc.stringMatching(/^[a-zA-Z/. ]{1,20}$/));
  fc.assert(
    fc.property(candidate, (path) => {
      if (checkVaultPath(path) !== null) return;
      const normalised = validateSecretPath(path);
      expect(RESERVED_VAULT_PREFIXES).not.toContain(normalised.split('/')[0]?.toLowerCase());
    }),
    { numRuns: 3000 },
  );
});

test('ordinary paths, and reserved words deeper in a path, are still accepted', () => {
  for (const p of [
    'secret/my-app',
    'kv/team/sys',
    'secret/data/auth',
    'database/creds/app',
    'system/app',
    'authz/x',
    'identity-store/x',
  ]) {
    expect([p, checkVaultPath(p)]).toEqual([p, null]);
  }
});
