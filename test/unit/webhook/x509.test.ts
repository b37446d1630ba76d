/**
 * The hand-written X.509 certificates of TLS mode auto: node parses and verifies them, and Go's crypto/x509 (the
 * API server's verifier, here inside a real kubectl) completes a TLS handshake against them, checking the chain
 * and the Service name; a name outside the certificate is refused.
 */
import { execFile } from 'node:child_process';
import { X509Certificate, createPrivateKey } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeCertificate } from '../../../webhook/x509.js';
import { kubeTool } from '../../support/kube-tools.js';

const KUBECTL = kubeTool('kubectl');
if ('skip' in KUBECTL) console.log(`skipped: ${KUBECTL.skip} (Go's verification of the webhook's certificates)`);

const now = new Date();
const DNS = [
  'vault-irsa',
  'vault-irsa.vault-irsa',
  'vault-irsa.vault-irsa.svc',
  'vault-irsa.vault-irsa.svc.cluster.local',
];
const ca = makeCertificate({
  commonName: 'vault-irsa CA',
  notBefore: new Date(now.getTime() - 3_600_000),
  notAfter: new Date(now.getTime() + 86_400_000),
});
const leaf = makeCertificate({
  commonName: 'vault-irsa.vault-irsa.svc',
  notBefore: new Date(now.getTime() - 3_600_000),
  notAfter: new Date(now.getTime() + 86_400_000),
  issuer: ca,
  dnsNames: DNS,
});

test('node reads them: a CA, and a serving certificate it signed, for the Service names, server auth only', () => {
  const c = new X509Certificate(ca.cert);
  const l = new X509Certificate(leaf.cert);
  expect(c.ca).toBe(true);
  expect(c.verify(c.publicKey)).toBe(true);
  expect(l.ca).toBe(false);
  expect(l.checkIssued(c) && l.verify(c.publicKey)).toBe(true);
  expect(l.subjectAltName).toBe(DNS.map((d) => `DNS:${d}`).join(', '));
  expect(l.keyUsage).toEqual(['1.3.6.1.5.5.7.3.1']);
  expect(l.checkPrivateKey(createPrivateKey(leaf.key))).toBe(true);
  expect(c.checkPrivateKey(createPrivateKey(leaf.key))).toBe(false);
  expect(l.serialNumber).not.toBe(
    new X509Certificate(
      makeCertificate({
        commonName: 'x',
        notBefore: now,
        notAfter: new Date(now.getTime() + 1000),
        issuer: ca,
        dnsNames: ['x'],
      }).cert,
    ).serialNumber,
  );
});

test('dates after 2049 are written as GeneralizedTime and read back', () => {
  const far = makeCertificate({ commonName: 'far', notBefore: now, notAfter: new Date('2061-05-04T03:02:01Z') });
  expect(new Date(new X509Certificate(far.cert).validTo).toISOString()).toBe('2061-05-04T03:02:01.000Z');
  const near = makeCertificate({ commonName: 'near', notBefore: now, notAfter: new Date('2049-12-31T23:59:59Z') });
  expect(new Date(new X509Certificate(near.cert).validTo).toISOString()).toBe('2049-12-31T23:59:59.000Z');
});

('path' in KUBECTL ? describe : describe.skip)("Go's crypto/x509, through kubectl", () => {
  let dir = '';
  let server: ReturnType<typeof createServer>;
  let port = 0;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'vault-irsa-x509-'));
    server = createServer({ cert: leaf.cert, key: leaf.key }, (_req, res) => res.end('ok'));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    port = (server.address() as AddressInfo).port;
  });
  afterAll(async () => {
    await new Promise<void>((r) => server.close(() => r()));
    rmSync(dir, { recursive: true, force: true });
  });

  const kubectl = (serverName: string): Promise<{ code: number; out: string }> => {
    const config = join(dir, `kubeconfig-${serverName}`);
    writeFileSync(
      config,
      [
        'apiVersion: v1',
        'kind: Config',
        'clusters:',
        '- name: c',
        '  cluster:',
        `    server: https://127.0.0.1:${port}`,
        `    certificate-authority-data: ${Buffer.from(ca.cert).toString('base64')}`,
        `    tls-server-name: ${serverName}`,
        'users:',
        '- name: u',
        '  user:',
        '    token: not-a-secret',
        'contexts:',
        '- name: x',
        '  context:',
        '    cluster: c',
        '    user: u',
        'current-context: x',
        '',
      ].join('\n'),
    );
    return new Promise((resolve) => {
      // a token, so kubectl never prompts for a user name; stdin closed for the same reason
      const child = execFile(
        (KUBECTL as { path: string }).path,
        ['get', '--raw', '/healthz', '--request-timeout=20s'],
        { env: { PATH: process.env.PATH ?? '', HOME: dir, KUBECONFIG: config }, timeout: 30000 },
        (err, stdout, stderr) => {
          resolve({ code: err ? 1 : 0, out: `${stdout}${stderr}` });
        },
      );
      child.stdin?.end();
    });
  };

  test('accepts the chain for the Service name the API server uses', async () => {
    expect(await kubectl('vault-irsa.vault-irsa.svc')).toEqual({ code: 0, out: 'ok' });
  });

  test('refuses a name the certificate does not carry', async () => {
    const r = await kubectl('other.vault-irsa.svc');
    expect(r.code).toBe(1);
    expect(r.out).toMatch(/x509: certificate is valid for/);
  });
});
