/**
 * Region → the STS endpoint the GetCallerIdentity login is signed for. `us-east-1` is the global endpoint,
 * because that is what Vault forwards to by default (VAULT-WIRE §1); every other region its regional one,
 * in the DNS suffix of its partition.
 */
const REGION = /^[a-z]{2}(-[a-z]+)+-\d{1,2}$/;

export function isValidRegion(region: string): boolean {
  return REGION.test(region);
}

/** DNS suffix by partition, longest prefix first. */
const PARTITION_SUFFIX: ReadonlyArray<[prefix: string, suffix: string]> = [
  ['us-isob-', 'sc2s.sgov.gov'],
  ['us-isof-', 'csp.hci.ic.gov'],
  ['us-iso-', 'c2s.ic.gov'],
  ['eu-isoe-', 'cloud.adc-e.uk'],
  ['cn-', 'amazonaws.com.cn'],
];

function dnsSuffix(region: string): string {
  for (const [prefix, suffix] of PARTITION_SUFFIX) if (region.startsWith(prefix)) return suffix;
  return 'amazonaws.com';
}

export function stsEndpointFor(region: string): string {
  if (!isValidRegion(region)) throw new Error(`not an AWS region: ${region}`);
  if (region === 'us-east-1') return 'https://sts.amazonaws.com/';
  return `https://sts.${region}.${dnsSuffix(region)}/`;
}
