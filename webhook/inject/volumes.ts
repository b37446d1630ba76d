/** Pod volumes the injection needs: the shared memory volume, the CA bundle, and any identity volume. */
import type { AwsIdentity, InjectionPlan, Volume } from '../plan.js';
import { reused } from '../reused-json.js';
import { CA_VOLUME, SIDECAR_VOLUME } from './names.js';

// medium Memory: the request token lives in tmpfs and never touches the node's disk
const TOKEN_VOLUME: Volume = reused({ name: SIDECAR_VOLUME, emptyDir: { medium: 'Memory', sizeLimit: '1Mi' } });

/** Appends what is missing; volumes already present by name are left as they are. */
export function withVolumes(existing: Volume[] | undefined, plan: InjectionPlan, identity: AwsIdentity): Volume[] {
  const out = [...(existing ?? [])];
  const add = (v: Volume): void => {
    if (!out.some((o) => o?.name === v.name)) out.push(v);
  };
  add(TOKEN_VOLUME);
  for (const v of identity.volumes) add(v);
  if (plan.vaultCaConfigMap) {
    add({
      name: CA_VOLUME,
      configMap: { name: plan.vaultCaConfigMap.name, items: [{ key: plan.vaultCaConfigMap.key, path: 'ca.crt' }] },
    });
  }
  return out;
}

/** A volume name the pod already uses for something else would be shadowed; report it instead. */
export function volumeConflicts(existing: Volume[] | undefined, plan: InjectionPlan): string[] {
  const names = new Set((existing ?? []).map((v) => v?.name));
  const problems: string[] = [];
  if (names.has(SIDECAR_VOLUME))
    problems.push(
      `spec.volumes already has a volume named "${SIDECAR_VOLUME}", which vault-irsa needs for its token volume`,
    );
  if (plan.vaultCaConfigMap && names.has(CA_VOLUME))
    problems.push(
      `spec.volumes already has a volume named "${CA_VOLUME}", which vault-irsa needs for Vault's CA bundle`,
    );
  return problems;
}
