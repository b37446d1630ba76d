/**
 * Regions and ARN partitions come from the AWS SDK's partition data (copied into
 * sidecar/contract/partitions.generated.ts by scripts/gen-partitions.mjs). These tests fail when the copy is
 * stale, and check the grammars and the STS endpoint against the SDK's own resolver.
 */
import { readFileSync } from 'node:fs';
import { partition as sdkPartition } from '@aws-sdk/core/client';
import fc from 'fast-check';
import { checkRegion, checkRoleArn, partitionOf, PARTITIONS } from '../../../sidecar/contract/grammars.js';
import { stsEndpointFor } from '../../../sidecar/sts-endpoint.js';
// @ts-expect-error -- a plain .mjs script without type declarations
import { OUTPUT, render, sdkPartitions } from '../../../scripts/gen-partitions.mjs';

test("the generated table is the SDK's data (run node scripts/gen-partitions.mjs after an SDK update)", () => {
  expect(readFileSync(OUTPUT, 'utf8')).toBe(render(sdkPartitions()));
  expect(PARTITIONS.map((p) => p.id)).toEqual(sdkPartitions().map((p: { id: string }) => p.id));
});

const PREFIXES = [
  'us',
  'eu',
  'ap',
  'sa',
  'ca',
  'me',
  'af',
  'il',
  'mx',
  'cn',
  'eusc-de',
  'us-gov',
  'us-iso',
  'us-isob',
  'eu-isoe',
  'us-isof',
];
const regionLike = fc.oneof(
  fc
    .tuple(fc.constantFrom(...PREFIXES), fc.stringMatching(/^\w{1,12}$/), fc.stringMatching(/^\d{1,3}$/))
    .map(([p, w, d]) => `${p}-${w}-${d}`),
  fc.stringMatching(/^[a-z]{2,4}(-[a-z]{2,5}){1,3}-\d$/),
);

test('every region the contract accepts is in the partition the SDK resolves it to, with its DNS suffix', () => {
  fc.assert(
    fc.property(regionLike, (region) => {
      const ours = partitionOf(region);
      if (ours === undefined) return;
      const sdk = sdkPartition(region);
      expect(sdk.name).toBe(ours.id);
      expect(sdk.dnsSuffix).toBe(ours.dnsSuffix);
    }),
    { numRuns: 3000 },
  );
});

test.each([
  ['us-east-1', 'https://sts.amazonaws.com/'],
  ['eu-west-1', 'https://sts.eu-west-1.amazonaws.com/'],
  ['cn-north-1', 'https://sts.cn-north-1.amazonaws.com.cn/'],
  ['us-gov-west-1', 'https://sts.us-gov-west-1.amazonaws.com/'],
  ['eusc-de-east-1', 'https://sts.eusc-de-east-1.amazonaws.eu/'],
  ['us-isob-east-1', 'https://sts.us-isob-east-1.sc2s.sgov.gov/'],
  ['eu-isoe-west-1', 'https://sts.eu-isoe-west-1.cloud.adc-e.uk/'],
])("%s → %s (in both programs' region grammar)", (region, endpoint) => {
  expect(checkRegion(region)).toBeNull();
  expect(stsEndpointFor(region)).toBe(endpoint);
});

test.each(['eusc-fr-east-1', 'xx-east-1', 'aws-global', 'us-east', 'US-EAST-1', `us-${'e'.repeat(60)}-1`])(
  '%s is not a region',
  (region) => {
    expect(checkRegion(region)).not.toBeNull();
    expect(() => stsEndpointFor(region)).toThrow(/not an AWS region/);
  },
);

test("role ARNs: exactly the SDK's partition ids", () => {
  for (const p of PARTITIONS) expect(checkRoleArn(`arn:${p.id}:iam::123456789012:role/app`)).toBeNull();
  for (const p of ['aws-iso-x', 'aws-eu', 'awsx', 'aws-iso-'])
    expect(checkRoleArn(`arn:${p}:iam::123456789012:role/app`)).not.toBeNull();
});
