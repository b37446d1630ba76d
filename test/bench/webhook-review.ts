/** The AdmissionReview the webhook benchmark sends: a Deployment's pod as the API server hands it over. */

const IRSA_ENV = [
  { name: 'AWS_STS_REGIONAL_ENDPOINTS', value: 'regional' },
  { name: 'AWS_DEFAULT_REGION', value: 'eu-west-1' },
  { name: 'AWS_REGION', value: 'eu-west-1' },
  { name: 'AWS_ROLE_ARN', value: 'arn:aws:iam::111122223333:role/checkout' },
  { name: 'AWS_WEB_IDENTITY_TOKEN_FILE', value: '/var/run/secrets/eks.amazonaws.com/serviceaccount/token' },
];
const IRSA_MOUNT = {
  name: 'aws-iam-token',
  mountPath: '/var/run/secrets/eks.amazonaws.com/serviceaccount',
  readOnly: true,
};
const API_MOUNT = {
  name: 'kube-api-access-7xk2p',
  mountPath: '/var/run/secrets/kubernetes.io/serviceaccount',
  readOnly: true,
};

/** A Deployment's pod as the API server hands it to the webhook: 3 containers, 2 secrets, IRSA already there. */
export function realisticPod(): Record<string, unknown> {
  const resources = (cpu: string, mem: string) => ({ requests: { cpu, memory: mem }, limits: { memory: mem } });
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      generateName: 'checkout-7d9f8b6c5-',
      namespace: 'shop',
      labels: {
        app: 'checkout',
        'pod-template-hash': '7d9f8b6c5',
        'app.kubernetes.io/part-of': 'shop',
        'app.kubernetes.io/version': '2.14.1',
      },
      annotations: {
        'vault-irsa.io/role': 'checkout',
        'vault-irsa.io/secret-db': 'database/creds/checkout',
        'vault-irsa.io/secret-stripe': 'secret/shop/stripe',
        'vault-irsa.io/refresh': '2m',
        'prometheus.io/scrape': 'true',
        'prometheus.io/port': '9090',
      },
      ownerReferences: [
        {
          apiVersion: 'apps/v1',
          kind: 'ReplicaSet',
          name: 'checkout-7d9f8b6c5',
          uid: '0b8f2c1e-5a4d-4c3b-9e8f-7a6b5c4d3e2f',
          controller: true,
          blockOwnerDeletion: true,
        },
      ],
    },
    spec: {
      serviceAccountName: 'checkout',
      terminationGracePeriodSeconds: 30,
      securityContext: {
        runAsNonRoot: true,
        runAsUser: 10001,
        fsGroup: 10001,
        seccompProfile: { type: 'RuntimeDefault' },
      },
      containers: [
        {
          name: 'checkout',
          image: 'ghcr.io/example/checkout:2.14.1',
          ports: [
            { name: 'http', containerPort: 8080 },
            { name: 'metrics', containerPort: 9090 },
          ],
          env: [
            { name: 'LOG_LEVEL', value: 'info' },
            { name: 'POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
            ...IRSA_ENV,
          ],
          envFrom: [{ configMapRef: { name: 'checkout-config' } }],
          resources: resources('250m', '512Mi'),
          readinessProbe: { httpGet: { path: '/ready', port: 'http' }, periodSeconds: 5 },
          livenessProbe: { httpGet: { path: '/live', port: 'http' }, periodSeconds: 10, failureThreshold: 3 },
          volumeMounts: [
            { name: 'config', mountPath: '/etc/checkout', readOnly: true },
            { name: 'tmp', mountPath: '/tmp' },
            API_MOUNT,
            IRSA_MOUNT,
          ],
          securityContext: {
            allowPrivilegeEscalation: false,
            readOnlyRootFilesystem: true,
            capabilities: { drop: ['ALL'] },
          },
        },
        {
          name: 'worker',
          image: 'ghcr.io/example/checkout-worker:2.14.1',
          args: ['--queue', 'orders', '--concurrency', '4'],
          env: [{ name: 'LOG_LEVEL', value: 'info' }, ...IRSA_ENV],
          resources: resources('100m', '256Mi'),
          volumeMounts: [{ name: 'config', mountPath: '/etc/checkout', readOnly: true }, API_MOUNT, IRSA_MOUNT],
          securityContext: {
            allowPrivilegeEscalation: false,
            readOnlyRootFilesystem: true,
            capabilities: { drop: ['ALL'] },
          },
        },
        {
          name: 'log-shipper',
          image: 'fluent/fluent-bit:3.1.9',
          resources: resources('50m', '64Mi'),
          volumeMounts: [{ name: 'fluent-bit-config', mountPath: '/fluent-bit/etc' }, API_MOUNT, IRSA_MOUNT],
          env: IRSA_ENV,
        },
      ],
      volumes: [
        { name: 'config', configMap: { name: 'checkout-config' } },
        { name: 'fluent-bit-config', configMap: { name: 'checkout-fluent-bit' } },
        { name: 'tmp', emptyDir: {} },
        {
          name: 'aws-iam-token',
          projected: {
            sources: [
              { serviceAccountToken: { audience: 'sts.amazonaws.com', expirationSeconds: 86400, path: 'token' } },
            ],
          },
        },
        {
          name: 'kube-api-access-7xk2p',
          projected: {
            defaultMode: 420,
            sources: [
              { serviceAccountToken: { expirationSeconds: 3607, path: 'token' } },
              { configMap: { name: 'kube-root-ca.crt', items: [{ key: 'ca.crt', path: 'ca.crt' }] } },
              {
                downwardAPI: {
                  items: [{ path: 'namespace', fieldRef: { apiVersion: 'v1', fieldPath: 'metadata.namespace' } }],
                },
              },
            ],
          },
        },
      ],
      nodeSelector: { 'kubernetes.io/os': 'linux' },
      tolerations: [
        { key: 'node.kubernetes.io/not-ready', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 300 },
        { key: 'node.kubernetes.io/unreachable', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 300 },
      ],
      dnsPolicy: 'ClusterFirst',
      restartPolicy: 'Always',
      schedulerName: 'default-scheduler',
      enableServiceLinks: true,
      preemptionPolicy: 'PreemptLowerPriority',
      priority: 0,
    },
  };
}

export function admissionReview(pod: Record<string, unknown>): Record<string, unknown> {
  return {
    apiVersion: 'admission.k8s.io/v1',
    kind: 'AdmissionReview',
    request: {
      uid: '705ab4f5-6393-11e8-b7cc-42010a800002',
      kind: { group: '', version: 'v1', kind: 'Pod' },
      resource: { group: '', version: 'v1', resource: 'pods' },
      requestKind: { group: '', version: 'v1', kind: 'Pod' },
      requestResource: { group: '', version: 'v1', resource: 'pods' },
      operation: 'CREATE',
      namespace: 'shop',
      userInfo: {
        username: 'system:serviceaccount:kube-system:replicaset-controller',
        uid: 'f1e2d3c4-b5a6-4789-8abc-def012345678',
        groups: ['system:serviceaccounts', 'system:serviceaccounts:kube-system', 'system:authenticated'],
      },
      object: pod,
      oldObject: null,
      dryRun: false,
      options: { kind: 'CreateOptions', apiVersion: 'meta.k8s.io/v1' },
    },
  };
}
