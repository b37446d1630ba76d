/** The retry rules of the sidecar's AWS calls (sidecar/aws/retry.ts): the SDK's standard mode. */
import fc from 'fast-check';
import { isRetryable, isThrottling, retryDelayMs } from '../../../sidecar/aws/retry.js';

describe('which failures are retried', () => {
  it.each([
    [{ name: 'Throttling', status: 400 }],
    [{ name: 'ThrottlingException' }],
    [{ name: 'UnknownError', status: 429 }],
    [{ name: 'IDPCommunicationError', status: 400 }],
    [{ name: 'UnknownError', status: 500 }],
    [{ name: 'InternalFailure', status: 503 }],
    [{ name: 'UnknownError', status: 504 }],
    [{ name: 'TimeoutError' }],
    [{ name: 'Error', code: 'ECONNREFUSED' }],
    [{ name: 'Error', code: 'ECONNRESET' }],
    [{ name: 'Error', code: 'ENOTFOUND' }],
    [{ name: 'Error', code: 'EAI_AGAIN' }],
  ])('retries %j', (e) => {
    expect(isRetryable(e)).toBe(true);
  });

  it.each([
    [{ name: 'InvalidIdentityToken', status: 400 }],
    [{ name: 'ExpiredTokenException', status: 400 }],
    [{ name: 'AccessDenied', status: 403 }],
    [{ name: 'ValidationError', status: 400 }],
    [{ name: 'MalformedResponse', status: 200 }],
    [{ name: 'ResponseTooLarge' }],
    [{ name: 'UnknownError', status: 501 }],
    [{ name: 'Error', code: 'ENOENT' }],
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
          const e = throttled ? { name: 'Throttling' } : { name: 'Error', code: 'ECONNRESET' };
          const d = retryDelayMs(attempt, e, random);
          const cap = Math.min(20_000, (isThrottling(e) ? 500 : 100) * 2 ** attempt);
          expect(Number.isInteger(d)).toBe(true);
          expect(d).toBeGreaterThanOrEqual(0);
          expect(d).toBeLessThan(cap);
        },
      ),
    );
    expect(retryDelayMs(1, { name: 'Error' }, 0.999)).toBe(199);
    expect(retryDelayMs(2, { name: 'Throttling' }, 0.5)).toBe(1000);
  });
});
