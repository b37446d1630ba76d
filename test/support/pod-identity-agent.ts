/** The EKS Pod Identity agent (169.254.170.23) stand-in: container credentials for the pod's association. */
import { createServer } from 'node:http';
import { randomBytes } from 'node:crypto';
import type { FakePodIdentityAgent, FakeSts } from '../../stand-ins/types.js';
import { closeServer, listen } from '../../stand-ins/server-util.js';

export interface FakePodIdentityAgentExt extends FakePodIdentityAgent {
  readonly calls: ReadonlyArray<{ status: number }>;
}

export async function startFakePodIdentityAgent(opts: {
  sts: FakeSts;
  roleArn: string;
  ttlSeconds?: number;
  port?: number;
}): Promise<FakePodIdentityAgentExt> {
  const authorizationToken = randomBytes(32).toString('base64url');
  const calls: Array<{ status: number }> = [];
  const server = createServer((req, res) => {
    const send = (status: number, body: unknown) => {
      calls.push({ status });
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    const path = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET' || path !== '/v1/credentials') return send(404, { message: 'not found' });
    const auth = req.headers.authorization;
    if (!auth) return send(401, { message: 'Service account token cannot be empty' });
    if (auth !== authorizationToken) return send(403, { message: 'Service account token is invalid' });
    const c = opts.sts.issueCredentials(
      opts.roleArn,
      `eks-cluster-pod-${randomBytes(4).toString('hex')}`,
      opts.ttlSeconds ?? 6 * 3600,
    );
    return send(200, {
      AccessKeyId: c.accessKeyId,
      SecretAccessKey: c.secretAccessKey,
      Token: c.sessionToken,
      AccountId: c.assumedRoleArn.split(':')[4],
      Expiration: c.expiration.toISOString().replace(/\.\d{3}Z$/, 'Z'),
    });
  });
  const port = await listen(server, opts.port ?? 0);
  return {
    url: `http://127.0.0.1:${port}/v1/credentials`,
    authorizationToken,
    calls,
    close: () => closeServer(server),
  };
}
