/** What the webhook will do to one pod: the validated result of its annotations and the webhook's defaults. */
import type { SidecarMode } from './config.js';

export interface InjectionPlan {
  role: string;
  authMount: string;
  vaultAddr: string;
  vaultNamespace?: string;
  iamServerId?: string;
  stsRegion: string;
  /** from vault-irsa.io/aws-role-arn; the ServiceAccount's role is resolved later (aws-identity) */
  awsRoleArn?: string;
  port: number;
  healthPort: number;
  mode: SidecarMode;
  refresh: string;
  /** secret name → Vault path, sorted by name so the sidecar's env is stable */
  secrets: Record<string, string>;
  /** vault-irsa.io/vault-api: "true": app containers get VAULT_ADDR pointing at the sidecar's Vault-shaped view */
  vaultApi?: true;
  resources: { requests: Record<string, string>; limits: Record<string, string> };
  image: string;
  /** the sidecar's runAsUser and runAsGroup */
  uid: number;
  imagePullPolicy?: string;
  vaultCaConfigMap?: { name: string; key: string };
  awsRegion?: string;
  stsEndpointUrl?: string;
}

/** The pod's AWS identity as the sidecar will get it (docs/pod.md, "The sidecar's AWS identity"). */
export interface AwsIdentity {
  source: 'copied-irsa' | 'copied-pod-identity' | 'minted-irsa' | 'none';
  env: EnvVar[];
  mounts: VolumeMount[];
  /** volumes the pod needs and does not have yet */
  volumes: Volume[];
  warnings: string[];
}

/** Kubernetes shapes, loosely typed: unknown fields must survive a round trip untouched. */
export interface EnvVar {
  name: string;
  value?: string;
  valueFrom?: unknown;
  [k: string]: unknown;
}
export interface VolumeMount {
  name: string;
  mountPath: string;
  readOnly?: boolean;
  [k: string]: unknown;
}
export interface Volume {
  name: string;
  [k: string]: unknown;
}
export interface Container {
  name: string;
  env?: EnvVar[];
  volumeMounts?: VolumeMount[];
  ports?: Array<{ containerPort?: unknown; [k: string]: unknown }>;
  [k: string]: unknown;
}
export interface PodSpec {
  containers: Container[];
  initContainers?: Container[];
  volumes?: Volume[];
  serviceAccountName?: string;
  [k: string]: unknown;
}
export interface Pod {
  apiVersion?: string;
  kind?: string;
  metadata?: {
    name?: string;
    generateName?: string;
    namespace?: string;
    annotations?: Record<string, string>;
    ownerReferences?: Array<{ kind?: string; [k: string]: unknown }>;
    [k: string]: unknown;
  };
  spec: PodSpec;
  [k: string]: unknown;
}
