import { withAppWiring } from '../../../webhook/inject/app-containers.js';
import type { InjectionPlan } from '../../../webhook/plan.js';

const plan = { port: 9200, vaultApi: true } as InjectionPlan;
const env = (c: ReturnType<typeof withAppWiring>) =>
  Object.fromEntries((c.env ?? []).map((e) => [e.name, e.value ?? e.valueFrom]));

describe('VAULT_ADDR for apps that already use a Vault client (vault-irsa.io/vault-api)', () => {
  it('is added beside VAULT_IRSA_ADDR, pointing at the sidecar', () => {
    const w: string[] = [];
    expect(env(withAppWiring({ name: 'app' }, plan, w))).toMatchObject({
      VAULT_ADDR: 'http://127.0.0.1:9200',
      VAULT_IRSA_ADDR: 'http://127.0.0.1:9200',
    });
    expect(w).toEqual([]);
  });

  it('a container that sets its own (by value or valueFrom) keeps it, with a warning naming the container', () => {
    const w: string[] = [];
    const own = withAppWiring({ name: 'a', env: [{ name: 'VAULT_ADDR', value: 'https://vault:8200' }] }, plan, w);
    expect(env(own).VAULT_ADDR).toBe('https://vault:8200');
    const ref = { configMapKeyRef: { name: 'cfg', key: 'addr' } };
    expect(
      env(withAppWiring({ name: 'b', env: [{ name: 'VAULT_ADDR', valueFrom: ref }] }, plan, w)).VAULT_ADDR,
    ).toEqual(ref);
    expect(w).toEqual([
      expect.stringContaining('container "a" already sets VAULT_ADDR'),
      expect.stringContaining('container "b" already sets VAULT_ADDR'),
    ]);
  });

  it('one that already points at the sidecar needs no warning; without the annotation nothing is added', () => {
    const w: string[] = [];
    withAppWiring({ name: 'a', env: [{ name: 'VAULT_ADDR', value: 'http://127.0.0.1:9200' }] }, plan, w);
    expect(w).toEqual([]);
    expect(env(withAppWiring({ name: 'a' }, { port: 9200 } as InjectionPlan, w))).not.toHaveProperty('VAULT_ADDR');
  });
});
