/** The EKS cluster's OIDC issuer: RS256 keys, discovery document, JWKS, projected-token-style JWTs. */
import { createServer } from 'node:http';
import { randomUUID } from 'node:crypto';
import { SignJWT, exportJWK, generateKeyPair, type JWK, type JWTPayload, type CryptoKey } from 'jose';
import type { OidcIssuer } from './types.js';
import { closeServer, listen } from './server-util.js';

export interface OidcIssuerExt extends OidcIssuer {
  /** the public JWKS the issuer serves */
  jwks(): { keys: JWK[] };
  /** sign arbitrary claims with the issuer key (or a foreign key) — for malformed-token tests */
  signRaw(claims: JWTPayload, opts?: { foreignKey?: boolean; kid?: string }): Promise<string>;
}

export async function startOidcIssuer(opts: { port?: number } = {}): Promise<OidcIssuerExt> {
  const { privateKey, publicKey } = await generateKeyPair('RS256', { extractable: true });
  const foreign = await generateKeyPair('RS256', { extractable: true });
  const kid = randomUUID();
  const jwk = { ...(await exportJWK(publicKey)), kid, use: 'sig', alg: 'RS256' } as JWK;
  let url = '';

  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    const send = (status: number, body: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    if (req.method !== 'GET') return send(405, { error: 'method not allowed' });
    if (path === '/.well-known/openid-configuration') {
      return send(200, {
        issuer: url,
        jwks_uri: `${url}/keys`,
        authorization_endpoint: 'urn:kubernetes:programmatic_authorization',
        response_types_supported: ['id_token'],
        subject_types_supported: ['public'],
        id_token_signing_alg_values_supported: ['RS256'],
        claims_supported: ['sub', 'iss'],
      });
    }
    if (path === '/keys') return send(200, { keys: [jwk] });
    return send(404, { error: 'not found' });
  });
  const port = await listen(server, opts.port ?? 0);
  url = `http://127.0.0.1:${port}`;

  const sign = async (claims: JWTPayload, key: CryptoKey, useKid: string) =>
    new SignJWT(claims).setProtectedHeader({ alg: 'RS256', kid: useKid }).sign(key);

  return {
    url,
    jwksUrl: `${url}/keys`,
    jwks: () => ({ keys: [jwk] }),
    async mintToken({ namespace, serviceAccount, audience, expiresInSeconds }) {
      const now = Math.floor(Date.now() / 1000);
      return sign(
        {
          iss: url,
          sub: `system:serviceaccount:${namespace}:${serviceAccount}`,
          aud: audience ?? ['sts.amazonaws.com'],
          iat: now,
          nbf: now,
          exp: now + (expiresInSeconds ?? 86400),
          'kubernetes.io': {
            namespace,
            pod: { name: `${serviceAccount}-pod`, uid: randomUUID() },
            serviceaccount: { name: serviceAccount, uid: randomUUID() },
          },
        },
        privateKey,
        kid,
      );
    },
    signRaw: (claims, o = {}) => sign(claims, o.foreignKey ? foreign.privateKey : privateKey, o.kid ?? kid),
    close: () => closeServer(server),
  };
}
