import { SIDECAR_ENV } from '../../sidecar/env-names.js';

test('env names follow the contract prefix', () => {
  for (const [k, v] of Object.entries(SIDECAR_ENV)) {
    if (k.startsWith('vault')) expect(v).toMatch(/^VAULT_/);
    else expect(v).toMatch(/^VAULT_IRSA_/);
  }
});
