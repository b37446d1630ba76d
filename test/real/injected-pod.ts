/** What an injected pod must carry (docs/pod.md), checked on the object a real API server returned. */
import type { V1Container, V1Pod } from '@kubernetes/client-node';

export const sidecarOf = (pod: V1Pod): V1Container | undefined =>
  pod.spec?.initContainers?.find((c) => c.name === 'vault-irsa');

export interface Expected {
  image: string;
  vaultAddr: string;
  vaultRole: string;
  serverId: string;
  secrets: Record<string, string>;
  /** from the ServiceAccount's eks.amazonaws.com/role-arn */
  roleArn: string;
}

/** Native mode, IRSA added by the webhook itself (the pod carried no identity). */
export function expectSidecarInjected(pod: V1Pod, x: Expected): void {
  expect(pod.metadata?.annotations?.['vault-irsa.io/status']).toBe('injected');
  // first init container, restartPolicy Always: a native sidecar that ordinary init containers can use
  expect(pod.spec?.initContainers?.[0]?.name).toBe('vault-irsa');
  const sidecar = sidecarOf(pod);
  expect(sidecar).toMatchObject({ image: x.image, restartPolicy: 'Always' });
  const env = Object.fromEntries((sidecar?.env ?? []).map((e) => [e.name, e.value]));
  expect(env).toMatchObject({
    VAULT_ADDR: x.vaultAddr,
    VAULT_IRSA_ROLE: x.vaultRole,
    VAULT_IRSA_IAM_SERVER_ID: x.serverId,
    VAULT_IRSA_SECRETS: JSON.stringify(x.secrets),
    AWS_ROLE_ARN: x.roleArn,
    AWS_WEB_IDENTITY_TOKEN_FILE: '/var/run/secrets/eks.amazonaws.com/serviceaccount/token',
  });
  expect(sidecar?.volumeMounts).toEqual(
    expect.arrayContaining([
      expect.objectContaining({ name: 'vault-irsa', mountPath: '/var/run/vault-irsa' }),
      expect.objectContaining({
        name: 'aws-iam-token',
        mountPath: '/var/run/secrets/eks.amazonaws.com/serviceaccount',
      }),
    ]),
  );
  const volumes = pod.spec?.volumes ?? [];
  expect(volumes.find((v) => v.name === 'vault-irsa')?.emptyDir?.medium).toBe('Memory');
  const projected = volumes
    .find((v) => v.name === 'aws-iam-token')
    ?.projected?.sources?.find((s) => s.serviceAccountToken)?.serviceAccountToken;
  expect(projected?.audience).toBe('sts.amazonaws.com');
  const app = pod.spec?.containers.find((c) => c.name === 'app');
  expect(app?.env).toEqual(
    expect.arrayContaining([
      { name: 'VAULT_IRSA_ADDR', value: 'http://127.0.0.1:8765' },
      { name: 'VAULT_IRSA_TOKEN_FILE', value: '/var/run/vault-irsa/token' },
    ]),
  );
  expect(app?.volumeMounts).toEqual(
    expect.arrayContaining([
      expect.objectContaining({ name: 'vault-irsa', mountPath: '/var/run/vault-irsa', readOnly: true }),
    ]),
  );
}

export function expectUntouched(pod: V1Pod): void {
  expect(sidecarOf(pod)).toBeUndefined();
  expect(pod.metadata?.annotations?.['vault-irsa.io/status']).toBeUndefined();
  expect((pod.spec?.volumes ?? []).some((v) => v.name === 'vault-irsa' || v.name === 'aws-iam-token')).toBe(false);
}
