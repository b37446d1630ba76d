/**
 * Self-signed serving certificates for tests and the demo (the `selfsigned` package). Each certificate is
 * its own CA, so a client trusts exactly one by passing it as `ca`.
 */
import { X509Certificate } from 'node:crypto';
import { mkdir, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { generate } from 'selfsigned';

export interface TestCert {
  /** PEM certificate; also what a client passes as `ca` */
  cert: string;
  /** PEM private key */
  key: string;
  /** SHA-256 fingerprint, to tell two certificates apart from a client's view */
  fingerprint256: string;
}

export interface TestCertOptions {
  commonName?: string;
  dnsNames?: string[];
  ips?: string[];
  days?: number;
}

export async function makeTestCert(opts: TestCertOptions = {}): Promise<TestCert> {
  const dnsNames = opts.dnsNames ?? ['localhost'];
  const ips = opts.ips ?? ['127.0.0.1'];
  const notBeforeDate = new Date(Date.now() - 60_000);
  const notAfterDate = new Date(notBeforeDate.getTime() + (opts.days ?? 30) * 86_400_000);
  const pems = await generate([{ name: 'commonName', value: opts.commonName ?? dnsNames[0] ?? 'localhost' }], {
    keyType: 'ec',
    curve: 'P-256',
    algorithm: 'sha256',
    notBeforeDate,
    notAfterDate,
    extensions: [
      { name: 'basicConstraints', cA: true, critical: true },
      { name: 'keyUsage', digitalSignature: true, keyCertSign: true, critical: true },
      { name: 'extKeyUsage', serverAuth: true },
      {
        name: 'subjectAltName',
        altNames: [
          ...dnsNames.map((value) => ({ type: 2 as const, value })),
          ...ips.map((ip) => ({ type: 7 as const, ip })),
        ],
      },
    ],
  });
  return { cert: pems.cert, key: pems.private, fingerprint256: new X509Certificate(pems.cert).fingerprint256 };
}

/** Writes tls.crt and tls.key into `dir`, each replaced atomically (write a temp file, then rename). */
export async function writeTestCert(dir: string, cert: TestCert): Promise<{ certFile: string; keyFile: string }> {
  await mkdir(dir, { recursive: true });
  const certFile = join(dir, 'tls.crt');
  const keyFile = join(dir, 'tls.key');
  await writeFile(`${keyFile}.tmp`, cert.key, { mode: 0o600 });
  await writeFile(`${certFile}.tmp`, cert.cert);
  await rename(`${keyFile}.tmp`, keyFile);
  await rename(`${certFile}.tmp`, certFile);
  return { certFile, keyFile };
}
