/**
 * What the alerts and the PodMonitor rely on in the programs themselves: the label on injected pods, the
 * per-code secret error gauge, counters present at 0 before the first event, Vault latency by outcome, and the
 * webhook's certificate notAfter gauge.
 */
import { review } from '../../../webhook/admission.js';
import { INJECTED_LABEL } from '../../../webhook/inject/names.js';
import { certificateNotAfterSeconds, createMetrics, observeCertificate } from '../../../webhook/metrics.js';
import { Metrics } from '../../../sidecar/metrics.js';
import { makeTestCert } from '../../../stand-ins/tls.js';
import { admissionReview, applyOps, DEPS, responseOf } from '../webhook/helpers.js';

const pod = (labels?: Record<string, string>) => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: {
    name: 'web',
    namespace: 'demo',
    ...(labels ? { labels } : {}),
    annotations: {
      'vault-irsa.io/role': 'app',
      'vault-irsa.io/secret-config': 'secret/my-app',
      'vault-irsa.io/aws-role-arn': 'arn:aws:iam::111122223333:role/web',
    },
  },
  spec: { containers: [{ name: 'app', image: 'ghcr.io/example/web:1.0' }] },
});

describe('the label on injected pods', () => {
  test('an injected pod gets vault-irsa.io/injected: "true", its own labels kept; a skipped pod gets none', async () => {
    for (const labels of [undefined, { app: 'web', 'vault-irsa.io/injected': 'false' }]) {
      const p = pod(labels);
      const r = responseOf(await review(admissionReview(p), DEPS));
      expect(r.allowed).toBe(true);
      const after = applyOps(p, r.ops) as { metadata: { labels: Record<string, string> } };
      expect(after.metadata.labels).toEqual({ ...(labels?.app ? { app: 'web' } : {}), [INJECTED_LABEL]: 'true' });
    }
    const plain = { ...pod(), metadata: { name: 'x', namespace: 'demo' } };
    expect(responseOf(await review(admissionReview(plain), DEPS)).ops).toEqual([]);
  });
});

describe('sidecar metrics', () => {
  test('vault_irsa_secret_error: one series per code, 1 for the last failure’s code, all 0 once a read works', async () => {
    const m = new Metrics({ defaultMetrics: false });
    m.secretFailed('db', 'vault_permission_denied');
    const values = async () =>
      (await m.secretError.get()).values
        .filter((v) => v.labels.secret === 'db')
        .map((v) => [v.labels.code, v.value])
        .sort();
    expect(await values()).toEqual([
      ['secret_not_found', 0],
      ['vault_permission_denied', 1],
      ['vault_unavailable', 0],
    ]);
    m.secretFailed('db', 'vault_unavailable');
    expect(await values()).toEqual([
      ['secret_not_found', 0],
      ['vault_permission_denied', 0],
      ['vault_unavailable', 1],
    ]);
    m.secretFailed('db', undefined);
    expect(await values()).toEqual([
      ['secret_not_found', 0],
      ['vault_permission_denied', 0],
      ['vault_unavailable', 0],
    ]);
  });

  test('login, renewal and refresh counters exist at 0 for every outcome before anything happened', async () => {
    const text = await new Metrics({ defaultMetrics: false }).registry.metrics();
    for (const line of [
      'vault_irsa_logins_total{outcome="failure"} 0',
      'vault_irsa_logins_total{outcome="success"} 0',
      'vault_irsa_token_renewals_total{outcome="failure"} 0',
      'vault_irsa_lease_renewals_total{outcome="failure"} 0',
      'vault_irsa_secret_refreshes_total{outcome="failure"} 0',
    ])
      expect(text).toContain(line);
  });

  test('Vault request latency carries the outcome', async () => {
    const m = new Metrics({ defaultMetrics: false });
    m.observeVault('read', '503', 0.2);
    m.observeVault('read', 'network', 1.5);
    const text = await m.registry.metrics();
    expect(text).toContain('vault_irsa_vault_request_duration_seconds_count{operation="read",outcome="503"} 1');
    expect(text).toContain('vault_irsa_vault_request_duration_seconds_count{operation="read",outcome="network"} 1');
  });
});

describe('webhook metrics', () => {
  test('admission outcomes and ServiceAccount lookup results exist at 0 from the start', async () => {
    const text = await createMetrics({ defaultMetrics: false }).registry.metrics();
    for (const o of ['injected', 'skipped', 'denied', 'invalid', 'error'])
      expect(text).toContain(`vault_irsa_webhook_admissions_total{outcome="${o}"} 0`);
    for (const r of ['cache', 'api', 'not_found', 'error'])
      expect(text).toContain(`vault_irsa_webhook_serviceaccount_lookups_total{result="${r}"} 0`);
  });

  test('the serving certificate’s notAfter, updated when another certificate is observed; garbage changes nothing', async () => {
    const m = createMetrics({ defaultMetrics: false });
    const a = await makeTestCert({ days: 30 });
    const b = await makeTestCert({ days: 3 });
    const gauge = async () => (await m.tlsNotAfter.get()).values[0]?.value;
    observeCertificate(m, a.cert);
    const notAfterA = certificateNotAfterSeconds(a.cert) as number;
    expect(await gauge()).toBe(notAfterA);
    expect(Math.round((notAfterA * 1000 - Date.now()) / 86_400_000)).toBe(30);
    observeCertificate(m, b.cert);
    expect(await gauge()).toBe(certificateNotAfterSeconds(b.cert));
    observeCertificate(m, 'not a certificate');
    expect(await gauge()).toBe(certificateNotAfterSeconds(b.cert));
    expect(certificateNotAfterSeconds('')).toBeUndefined();
  });
});
