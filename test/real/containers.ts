/**
 * The real servers of the Docker part, started with testcontainers 11 (the last line that runs on Node 20).
 * Every start has a generous timeout: the first run pulls the images.
 */
import { randomBytes } from 'node:crypto';
import { GenericContainer, Wait, type StartedNetwork, type StartedTestContainer } from 'testcontainers';
import { LocalstackContainer, type StartedLocalStackContainer } from '@testcontainers/localstack';
import { K3sContainer, type StartedK3sContainer } from '@testcontainers/k3s';
import { IMAGES } from './images.js';
import { VaultAdmin } from '../../stand-ins/vault-admin.js';

export const PULL_AND_START_MS = 10 * 60_000;
const VAULT_PORT = 8200;

export interface StartedVault {
  container: StartedTestContainer;
  /** from the host, through the mapped port */
  addr: string;
  admin: VaultAdmin;
}

/**
 * A dev-mode Vault. @testcontainers/vault is not published for testcontainers 11 (its first release, 12.x,
 * needs Node 22), so this is the same container that module builds: dev mode, a root token we choose,
 * IPC_LOCK, ready once /v1/sys/health answers 200.
 */
export async function startVault(network: StartedNetwork, alias = 'vault'): Promise<StartedVault> {
  const rootToken = randomBytes(18).toString('base64url');
  const container = await new GenericContainer(IMAGES.vault)
    .withNetwork(network)
    .withNetworkAliases(alias)
    .withExposedPorts(VAULT_PORT)
    .withEnvironment({ VAULT_DEV_ROOT_TOKEN_ID: rootToken, VAULT_DEV_LISTEN_ADDRESS: `0.0.0.0:${VAULT_PORT}` })
    .withAddedCapabilities('IPC_LOCK')
    .withWaitStrategy(Wait.forHttp('/v1/sys/health', VAULT_PORT).forStatusCode(200))
    .withStartupTimeout(PULL_AND_START_MS)
    .start();
  const addr = `http://${container.getHost()}:${container.getMappedPort(VAULT_PORT)}`;
  return { container, addr, admin: new VaultAdmin(addr, rootToken) };
}

/** LocalStack with only STS and IAM; reachable as http://<alias>:4566 from the network, getConnectionUri() from the host. */
export async function startLocalStack(
  network: StartedNetwork,
  alias = 'localstack',
): Promise<StartedLocalStackContainer> {
  return new LocalstackContainer(IMAGES.localstack)
    .withNetwork(network)
    .withNetworkAliases(alias)
    .withEnvironment({ SERVICES: 'sts,iam' })
    .withStartupTimeout(PULL_AND_START_MS)
    .start();
}

/** The name that resolves, inside the K3s container, to the Docker host (Docker's `host-gateway`). */
export const HOST_GATEWAY_NAME = 'host.docker.internal';

/** A single-node K3s that can reach the Docker host, where the webhook under test listens. */
export async function startK3s(): Promise<StartedK3sContainer> {
  return new K3sContainer(IMAGES.k3s)
    .withExtraHosts([{ host: HOST_GATEWAY_NAME, ipAddress: 'host-gateway' }])
    .withStartupTimeout(PULL_AND_START_MS)
    .start();
}

/** The address HOST_GATEWAY_NAME has inside the container: what the API server dials to reach the webhook. */
export async function hostGatewayIp(container: StartedTestContainer): Promise<string> {
  const r = await container.exec(['cat', '/etc/hosts']);
  for (const line of r.output.split('\n')) {
    const [ip, ...names] = line.trim().split(/\s+/);
    if (ip && names.includes(HOST_GATEWAY_NAME)) return ip;
  }
  throw new Error(
    `no ${HOST_GATEWAY_NAME} entry in the container's /etc/hosts (Docker Engine 20.10+ maps host-gateway): ${r.output.slice(0, 300)}`,
  );
}
