/**
 * App and ordinary init containers: where to reach the sidecar (VAULT_IRSA_ADDR), the request token
 * (VAULT_IRSA_TOKEN_FILE), and the read-only memory volume that holds it. With vault-irsa.io/vault-api,
 * also VAULT_ADDR, so a Vault client in the app reads through the sidecar.
 */
import { APP_ENV, SIDECAR_DEFAULTS } from '../../sidecar/contract/names.js';
import type { Container, EnvVar, InjectionPlan } from '../plan.js';
import { A } from '../annotations.js';
import { quote, trimTrailingSlashes } from '../validate.js';
import { copyWith } from './copy-with.js';
import { SIDECAR_MOUNT_PATH, SIDECAR_VOLUME } from './names.js';

export { APP_ENV };

/** Sets the variable in place if the container already has it (ours wins: a stale value would point nowhere). */
function setEnv(env: EnvVar[], name: string, value: string): EnvVar[] {
  const i = env.findIndex((e) => e?.name === name);
  if (i === -1) return [...env, { name, value }];
  const out = [...env];
  out[i] = { name, value };
  return out;
}

/** `warnings` collects what the pod author should know (a VAULT_ADDR of their own that is left alone). */
export function withAppWiring(c: Container, plan: InjectionPlan, warnings: string[] = []): Container {
  let env = c.env ?? [];
  const addr = `http://127.0.0.1:${plan.port}`;
  env = setEnv(env, APP_ENV.addr, addr);
  env = setEnv(env, APP_ENV.tokenFile, SIDECAR_DEFAULTS.tokenFile);
  if (plan.vaultApi) {
    // theirs wins: a container that names its Vault knows where it wants to go
    const own = env.find((e) => e?.name === APP_ENV.vaultAddr);
    if (own === undefined) env = [...env, { name: APP_ENV.vaultAddr, value: addr }];
    else if (own.value !== addr || own.valueFrom !== undefined) {
      warnings.push(
        `vault-irsa: container ${quote(c.name)} already sets ${APP_ENV.vaultAddr}; left as it is, so its Vault client does not read through the sidecar (${A.vaultApi}: "true")`,
      );
    }
  }
  const mounts = [...(c.volumeMounts ?? [])];
  if (!mounts.some((m) => m?.name === SIDECAR_VOLUME && m.mountPath === SIDECAR_MOUNT_PATH))
    mounts.push({ name: SIDECAR_VOLUME, mountPath: SIDECAR_MOUNT_PATH, readOnly: true });
  return copyWith(c, { env, volumeMounts: mounts });
}

/** A container that already mounts something at the token directory would hide the token. */
export function mountConflicts(containers: Container[]): string[] {
  const problems: string[] = [];
  for (const c of containers) {
    for (const m of c.volumeMounts ?? []) {
      if (
        m?.name !== SIDECAR_VOLUME &&
        typeof m?.mountPath === 'string' &&
        trimTrailingSlashes(m.mountPath) === SIDECAR_MOUNT_PATH
      ) {
        problems.push(
          `container ${quote(c.name)} already mounts volume ${quote(m.name)} at ${SIDECAR_MOUNT_PATH}, where vault-irsa puts its token`,
        );
      }
    }
  }
  return problems;
}
