/**
 * Just enough X.509 to make the webhook's own CA and serving certificate with node:crypto alone: ECDSA P-256
 * keys, SHA-256 signatures, DER written by hand. node:crypto generates keys, signs and parses certificates
 * but cannot build one; a DER writer for this one fixed shape is ~100 lines, where a certificate library
 * would be a runtime dependency (and its dependency tree) in an admission webhook for one job.
 * The shape follows what Go's crypto/x509 (the API server's verifier) expects: v3, a positive random serial,
 * basicConstraints and keyUsage critical, key identifiers, and the names in subjectAltName (Go ignores the CN).
 */
import {
  createHash,
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  randomBytes,
  sign,
  type KeyObject,
} from 'node:crypto';

// ---- DER ----
function len(n: number): Buffer {
  if (n < 0x80) return Buffer.from([n]);
  const bytes: number[] = [];
  for (let v = n; v > 0; v = Math.floor(v / 256)) bytes.unshift(v & 0xff);
  return Buffer.from([0x80 | bytes.length, ...bytes]);
}
const tlv = (tag: number, body: Buffer): Buffer => Buffer.concat([Buffer.from([tag]), len(body.length), body]);
const seq = (...items: Buffer[]): Buffer => tlv(0x30, Buffer.concat(items));
const set = (...items: Buffer[]): Buffer => tlv(0x31, Buffer.concat(items));
const explicit = (n: number, body: Buffer): Buffer => tlv(0xa0 + n, body);
const octets = (b: Buffer): Buffer => tlv(0x04, b);
const bool = (v: boolean): Buffer => tlv(0x01, Buffer.from([v ? 0xff : 0]));
const utf8 = (s: string): Buffer => tlv(0x0c, Buffer.from(s, 'utf8'));
const bits = (b: Buffer, unused = 0): Buffer => tlv(0x03, Buffer.concat([Buffer.from([unused]), b]));

function int(b: Buffer): Buffer {
  let body = b;
  while (body.length > 1 && body[0] === 0 && ((body[1] ?? 0) & 0x80) === 0) body = body.subarray(1);
  if (((body[0] ?? 0) & 0x80) !== 0) body = Buffer.concat([Buffer.from([0]), body]);
  return tlv(0x02, body);
}

function oid(dotted: string): Buffer {
  const parts = dotted.split('.').map(Number);
  const out: number[] = [40 * (parts[0] ?? 0) + (parts[1] ?? 0)];
  for (const p of parts.slice(2)) {
    const chunk: number[] = [p & 0x7f];
    for (let v = Math.floor(p / 128); v > 0; v = Math.floor(v / 128)) chunk.unshift(0x80 | (v & 0x7f));
    out.push(...chunk);
  }
  return tlv(0x06, Buffer.from(out));
}

/** UTCTime through 2049, GeneralizedTime after (RFC 5280 §4.1.2.5), whole seconds, Zulu. */
function time(d: Date): Buffer {
  const iso = d.toISOString();
  const digits = iso.slice(0, 19).replace(/[-:T]/g, '');
  return d.getUTCFullYear() < 2050
    ? tlv(0x17, Buffer.from(`${digits.slice(2)}Z`))
    : tlv(0x18, Buffer.from(`${digits}Z`));
}

const OID = {
  ecdsaWithSha256: '1.2.840.10045.4.3.2',
  commonName: '2.5.4.3',
  subjectKeyIdentifier: '2.5.29.14',
  keyUsage: '2.5.29.15',
  subjectAltName: '2.5.29.17',
  basicConstraints: '2.5.29.19',
  authorityKeyIdentifier: '2.5.29.35',
  extKeyUsage: '2.5.29.37',
  serverAuth: '1.3.6.1.5.5.7.3.1',
};

const name = (cn: string): Buffer => seq(set(seq(oid(OID.commonName), utf8(cn))));
const extension = (id: string, critical: boolean, value: Buffer): Buffer =>
  seq(oid(id), ...(critical ? [bool(true)] : []), octets(value));

/** RFC 5280 §4.2.1.2 method 1: SHA-1 of the subjectPublicKey bits. */
function keyId(spki: Buffer): Buffer {
  // an EC P-256 SPKI ends with the 65-byte uncompressed point, which is the BIT STRING's content
  return createHash('sha1')
    .update(spki.subarray(spki.length - 65))
    .digest();
}

export interface CertificateKeyPair {
  /** PEM */
  cert: string;
  /** PEM (PKCS#8) */
  key: string;
}

export interface CertificateRequest {
  commonName: string;
  notBefore: Date;
  notAfter: Date;
  /** absent: a self-signed CA. present: a serving certificate for `dnsNames`, signed by it */
  issuer?: CertificateKeyPair;
  dnsNames?: string[];
}

function toPem(der: Buffer): string {
  const b64 = der.toString('base64').replace(/.{64}/g, '$&\n').replace(/\n$/, '');
  return `-----BEGIN CERTIFICATE-----\n${b64}\n-----END CERTIFICATE-----\n`;
}

function derOfPem(pem: string): Buffer {
  const m = /-----BEGIN CERTIFICATE-----([\s\S]+?)-----END CERTIFICATE-----/.exec(pem);
  if (!m?.[1]) throw new Error('not a PEM certificate');
  return Buffer.from(m[1].replace(/\s+/g, ''), 'base64');
}

/** The issuer's subject DER, copied byte for byte from its certificate (so name matching is exact). */
function subjectOf(certPem: string): Buffer {
  // Certificate → tbsCertificate → [version, serial, sigAlg, issuer, validity, subject, ...]
  const read = (buf: Buffer, at: number): { start: number; end: number; body: number } => {
    let i = at + 1;
    let n = buf[i] ?? 0;
    i += 1;
    if (n & 0x80) {
      const count = n & 0x7f;
      n = 0;
      for (let k = 0; k < count; k += 1) n = n * 256 + (buf[i + k] ?? 0);
      i += count;
    }
    return { start: at, body: i, end: i + n };
  };
  const der = derOfPem(certPem);
  const tbs = read(der, read(der, 0).body);
  let at = tbs.body;
  for (let k = 0; k < 5; k += 1) at = read(der, at).end;
  const subject = read(der, at);
  return der.subarray(subject.start, subject.end);
}

/** A new ECDSA P-256 key and a certificate for it. */
export function makeCertificate(req: CertificateRequest): CertificateKeyPair {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  const spki = publicKey.export({ type: 'spki', format: 'der' });
  const isCa = req.issuer === undefined;
  const signer: KeyObject = req.issuer ? createPrivateKey(req.issuer.key) : privateKey;
  const issuerName = req.issuer ? subjectOf(req.issuer.cert) : name(req.commonName);
  const issuerSpki = req.issuer ? createPublicKey(req.issuer.cert).export({ type: 'spki', format: 'der' }) : spki;

  const serial = randomBytes(16);
  serial[0] = (serial[0] ?? 0) & 0x7f;
  const extensions: Buffer[] = [
    extension(OID.basicConstraints, true, isCa ? seq(bool(true), int(Buffer.from([0]))) : seq()),
    // CA: digitalSignature, keyCertSign, cRLSign (bits 0, 5, 6); serving: digitalSignature (bit 0)
    extension(OID.keyUsage, true, isCa ? bits(Buffer.from([0x86]), 1) : bits(Buffer.from([0x80]), 7)),
    extension(OID.subjectKeyIdentifier, false, octets(keyId(spki))),
  ];
  if (!isCa) {
    extensions.push(
      extension(OID.authorityKeyIdentifier, false, seq(tlv(0x80, keyId(issuerSpki)))),
      extension(OID.extKeyUsage, false, seq(oid(OID.serverAuth))),
      extension(OID.subjectAltName, false, seq(...(req.dnsNames ?? []).map((d) => tlv(0x82, Buffer.from(d, 'ascii'))))),
    );
  }
  const algorithm = seq(oid(OID.ecdsaWithSha256));
  const tbs = seq(
    explicit(0, int(Buffer.from([2]))),
    int(serial),
    algorithm,
    issuerName,
    seq(time(req.notBefore), time(req.notAfter)),
    name(req.commonName),
    spki,
    explicit(3, seq(...extensions)),
  );
  const signature = sign('sha256', tbs, { key: signer, dsaEncoding: 'der' });
  return {
    cert: toPem(seq(tbs, algorithm, bits(signature))),
    key: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
  };
}
