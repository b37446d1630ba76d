/**
 * App and ordinary init containers: where to reach the sidecar (VAULT_IRSA_ADDR), the request token
 * (VAULT_IRSA_TOKEN_FILE), and the read-only memory volume that holds it. With vault-irsa.io/vault-api,
 * also VAULT_ADDR, so a Vault client in the app reads through the sidecar.
 */
import { APP_ENV, SIDECAR_DEFAULTS } from '../../sidecar/contract/names.js';
import type { Container, EnvVar, InjectionPlan, VolumeMount } from '../plan.js';
import { A } from '../annotations.js';
import { quote, trimTrailingSlashes } from '../validate.js';
import { reused } from '../reused-json.js';
import { copyWith } from './copy-with.js';
import { SIDECAR_MOUNT_PATH, SIDECAR_VOLUME } from './names.js';

export { APP_ENV };

/** Sets the variable in place if the container already has it (ours wins: a stale value would point nowhere). */
function setEnv(env: EnvVar[], entry: EnvVar): EnvVar[] {
  const i = env.findIndex((e) => e?.name === entry.name);
  if (i === -1) return [...env, entry];
  const out = [...env];
  out[i] = entry;
  return out;
}

/** What every app container of a plan's pods gets: one shared set of objects per plan (reused-json.ts). */
interface Wiring {
  addr: EnvVar;
  tokenFile: EnvVar;
  vaultAddr: EnvVar;
  mount: VolumeMount;
}
const wirings = new WeakMap<InjectionPlan, Wiring>();

function wiringFor(plan: InjectionPlan): Wiring {
  let w = wirings.get(plan);
  if (w === undefined) {
    const addr = `http://127.0.0.1:${plan.port}`;
    w = {
      addr: reused({ name: APP_ENV.addr, value: addr }),
      tokenFile: reused({ name: APP_ENV.tokenFile, value: SIDECAR_DEFAULTS.tokenFile }),
      vaultAddr: reused({ name: APP_ENV.vaultAddr, value: addr }),
      mount: reused({ name: SIDECAR_VOLUME, mountPath: SIDECAR_MOUNT_PATH, readOnly: true }),
    };
    wirings.set(plan, w);
  }
  return w;
}

/** `warnings` collects what the pod author should know (a VAULT_ADDR of their own that is left alone). */
export function withAppWiring(c: Container, plan: InjectionPlan, warnings: string[] = []): Container {
  const wiring = wiringFor(plan);
  let env = c.env ?? [];
  env = setEnv(env, wiring.addr);
  env = setEnv(env, wiring.tokenFile);
  if (plan.vaultApi) {
    // theirs wins: a container that names its Vault knows where it wants to go
    const own = env.find((e) => e?.name === APP_ENV.vaultAddr);
    if (own === undefined) env = [...env, wiring.vaultAddr];
    else if (own.value !== wiring.vaultAddr.value || own.valueFrom !== undefined) {
      warnings.push(
        `vault-irsa: container ${quote(c.name)} already sets ${APP_ENV.vaultAddr}; left as it is, so its Vault client does not read through the sidecar (${A.vaultApi}: "true")`,
      );
    }
  }
  const mounts = [...(c.volumeMounts ?? [])];
  if (!mounts.some((m) => m?.name === SIDECAR_VOLUME && m.mountPath === SIDECAR_MOUNT_PATH)) mounts.push(wiring.mount);
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
