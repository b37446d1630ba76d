/**
 * App and ordinary init containers: where to reach the sidecar (VAULT_IRSA_ADDR), the request token
 * (VAULT_IRSA_TOKEN_FILE), and the read-only memory volume that holds it.
 */
import { SIDECAR_DEFAULTS } from '../../sidecar/env-names.js';
import type { Container, EnvVar, InjectionPlan } from '../plan.js';
import { quote } from '../validate.js';
import { SIDECAR_MOUNT_PATH, SIDECAR_VOLUME } from './names.js';

export const APP_ENV = { addr: 'VAULT_IRSA_ADDR', tokenFile: 'VAULT_IRSA_TOKEN_FILE' } as const;

/** Sets the variable in place if the container already has it (ours wins: a stale value would point nowhere). */
function setEnv(env: EnvVar[], name: string, value: string): EnvVar[] {
  const i = env.findIndex((e) => e?.name === name);
  if (i === -1) return [...env, { name, value }];
  const out = [...env];
  out[i] = { name, value };
  return out;
}

export function withAppWiring(c: Container, plan: InjectionPlan): Container {
  let env = c.env ?? [];
  env = setEnv(env, APP_ENV.addr, `http://127.0.0.1:${plan.port}`);
  env = setEnv(env, APP_ENV.tokenFile, SIDECAR_DEFAULTS.tokenFile);
  const mounts = [...(c.volumeMounts ?? [])];
  if (!mounts.some((m) => m?.name === SIDECAR_VOLUME && m.mountPath === SIDECAR_MOUNT_PATH)) mounts.push({ name: SIDECAR_VOLUME, mountPath: SIDECAR_MOUNT_PATH, readOnly: true });
  return { ...c, env, volumeMounts: mounts };
}

/** A container that already mounts something at the token directory would hide the token. */
export function mountConflicts(containers: Container[]): string[] {
  const problems: string[] = [];
  for (const c of containers) {
    for (const m of c.volumeMounts ?? []) {
      if (m?.name !== SIDECAR_VOLUME && typeof m?.mountPath === 'string' && m.mountPath.replace(/\/+$/, '') === SIDECAR_MOUNT_PATH) {
        problems.push(`container ${quote(c.name)} already mounts volume ${quote(m.name)} at ${SIDECAR_MOUNT_PATH}, where vault-irsa puts its token`);
      }
    }
  }
  return problems;
}
