/**
 * Region → the STS endpoint the GetCallerIdentity login is signed for. `us-east-1` is the global endpoint,
 * because that is where Vault's AWS auth forwards by default (docs/vault-and-aws.md); every other region its
 * regional one, in the DNS suffix of its partition (the AWS SDK's partition data, sidecar/contract).
 */
import { partitionOf } from './contract/grammars.js';
import { DEFAULT_STS_REGION } from './contract/names.js';

export function isValidRegion(region: string): boolean {
  return partitionOf(region) !== undefined;
}

export function dnsSuffix(region: string): string {
  const p = partitionOf(region);
  if (p === undefined) throw new Error(`not an AWS region: ${region}`);
  return p.dnsSuffix;
}

export function stsEndpointFor(region: string): string {
  if (!isValidRegion(region)) throw new Error(`not an AWS region: ${region}`);
  if (region === DEFAULT_STS_REGION) return 'https://sts.amazonaws.com/';
  return `https://sts.${region}.${dnsSuffix(region)}/`;
}
