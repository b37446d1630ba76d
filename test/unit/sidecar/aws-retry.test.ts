/** The retry rules of the sidecar's AWS calls (sidecar/aws/retry.ts): the SDK's standard mode. */
import fc from 'fast-check';
import { isRetryable, isThrottling, retryDelayMs } from '../../../sidecar/aws/retry.js';

describe('which failures are retried', () => {
  it.each([
    [{ awsCode: 'Throttling', status: 400 }],
    [{ awsCode: 'ThrottlingException' }],
    [{ awsCode: 'UnknownError', status: 429 }],
    [{ awsCode: 'IDPCommunicationError', status: 400 }],
    [{ awsCode: 'UnknownError', status: 500 }],
    [{ awsCode: 'InternalFailure', status: 503 }],
    [{ awsCode: 'UnknownError', status: 504 }],
    [{ awsCode: 'TimeoutError' }],
    [{ errno: 'ECONNREFUSED' }],
    [{ errno: 'ECONNRESET' }],
    [{ errno: 'ENOTFOUND' }],
    [{ errno: 'EAI_AGAIN' }],
  ])('retries %j', (e) => {
    expect(isRetryable(e)).toBe(true);
  });

  it.each([
    [{ awsCode: 'InvalidIdentityToken', status: 400 }],
    [{ awsCode: 'ExpiredTokenException', status: 400 }],
    [{ awsCode: 'AccessDenied', status: 403 }],
    [{ awsCode: 'ValidationError', status: 400 }],
    [{ awsCode: 'MalformedResponse', status: 200 }],
    [{ awsCode: 'ResponseTooLarge' }],
    [{ awsCode: 'UnknownError', status: 501 }],
    [{ errno: 'ENOENT' }],
  ])('does not retry %j', (e) => {
    expect(isRetryable(e)).toBe(false);
  });
});

describe('the wait before the next attempt', () => {
  it('is full jitter under 100 ms × 2^attempt (500 ms when throttled), never over 20 s', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 40 }),
        fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }),
        fc.boolean(),
        (attempt, random, throttled) => {
          const e = throttled ? { awsCode: 'Throttling' } : { errno: 'ECONNRESET' };
          const d = retryDelayMs(attempt, e, random);
          const cap = Math.min(20_000, (isThrottling(e) ? 500 : 100) * 2 ** attempt);
          expect(Number.isInteger(d)).toBe(true);
          expect(d).toBeGreaterThanOrEqual(0);
          expect(d).toBeLessThan(cap);
        },
      ),
    );
    expect(retryDelayMs(1, { errno: 'ECONNRESET' }, 0.999)).toBe(199);
    expect(retryDelayMs(2, { awsCode: 'Throttling' }, 0.5)).toBe(1000);
  });
});
