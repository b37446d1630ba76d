/**
 * Which failed AWS calls are worth another attempt, and how long to wait first: the AWS SDK's "standard"
 * retry mode (its error-code lists, 100 ms base / 500 ms when throttled, full jitter, 20 s cap), without the
 * client-wide retry quota (one call an hour has nothing to ration). Pure.
 */
import { fullJitter } from '../backoff.js';

const THROTTLING = new Set([
  'BandwidthLimitExceeded',
  'EC2ThrottledException',
  'LimitExceededException',
  'PriorRequestNotComplete',
  'ProvisionedThroughputExceededException',
  'RequestLimitExceeded',
  'RequestThrottled',
  'RequestThrottledException',
  'SlowDown',
  'ThrottledException',
  'Throttling',
  'ThrottlingException',
  'TooManyRequestsException',
  'TransactionInProgressException',
]);

/**
 * Transient by name: timeouts, and STS's IDPCommunicationError (STS could not reach the cluster's OIDC
 * issuer; the SDK's STS model marks it retryable).
 */
const TRANSIENT = new Set([
  'TimeoutError',
  'RequestTimeout',
  'RequestTimeoutException',
  'IDPCommunicationError',
  'IDPCommunicationErrorException',
]);
const TRANSIENT_STATUS = new Set([500, 502, 503, 504]);
/** Node's socket errors the SDK retries (connection refused or reset, no route, DNS not answering) */
const NETWORK = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
]);

export interface FailedCall {
  /** the AWS error code: STS's Code, or TimeoutError for a call that ran out of time */
  awsCode?: string | undefined;
  /** HTTP status of the answer, when one came */
  status?: number | undefined;
  /** Node's errno code of a socket error */
  errno?: string | undefined;
}

export function isThrottling(e: FailedCall): boolean {
  return e.status === 429 || THROTTLING.has(e.awsCode ?? '');
}

export function isRetryable(e: FailedCall): boolean {
  return (
    isThrottling(e) ||
    TRANSIENT.has(e.awsCode ?? '') ||
    (e.status !== undefined && TRANSIENT_STATUS.has(e.status)) ||
    NETWORK.has(e.errno ?? '')
  );
}

const BASE_MS = 100;
const THROTTLED_BASE_MS = 500;
const MAX_DELAY_MS = 20_000;

/** The wait before attempt `attempt + 1` after `attempt` (1-based) failed; `random` in [0, 1). */
export function retryDelayMs(attempt: number, e: FailedCall, random: number): number {
  return fullJitter(
    { baseMs: isThrottling(e) ? THROTTLED_BASE_MS : BASE_MS, capMs: MAX_DELAY_MS },
    attempt,
    () => random,
  );
}
