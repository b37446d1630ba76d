import type { CredentialProvider } from './aws-credentials.js';
import { fullJitter, type BackoffPolicy } from './backoff.js';
import { buildIamLoginBody } from './iam-login.js';
import type { Logger } from './logger.js';
import { loginErrorCode, type LoginErrorCode } from './login-error-code.js';
import type { Metrics } from './metrics.js';
import { abortableSleep, VaultError, type VaultClient } from './vault-client.js';

export interface TokenManagerOptions {
  vault: VaultClient;
  credentials: CredentialProvider;
  role: string;
  authMount: string;
  stsRegion: string;
  iamServerId?: string;
  log: Logger;
  metrics?: Metrics;
  now?: () => number;
  random?: () => number;
  loginBackoff?: BackoffPolicy;
}

interface LoginAuth {
  client_token: string;
  lease_duration: number;
  renewable: boolean;
  policies?: string[];
  token_policies?: string[];
}

/** When to act on a token or lease: two thirds of its TTL, as Vault Agent does. Pure. */
export function renewDelayMs(ttlSeconds: number): number {
  return Math.max(1000, Math.floor((ttlSeconds * 1000 * 2) / 3));
}

/** Vault caps a renewal at the max TTL and still answers 200: a shorter lease than asked means log in again. */
export function renewalCapped(askedSeconds: number, gotSeconds: number): boolean {
  return gotSeconds < askedSeconds;
}

class Stopped extends Error {}

/** What the token manager can say about its token without showing it (for `vault-irsa-sidecar status`). */
export interface TokenState {
  loggedIn: boolean;
  /** ms since the epoch; undefined before the first login */
  expiresAt: number | undefined;
  /** when the timer fires next, and what it does then */
  nextActionAt: number | undefined;
  nextAction: 'renew' | 'login' | undefined;
  renewable: boolean;
  lastLoginAt: number | undefined;
  /** why the last login failed (Vault's or STS's message, never a credential); undefined once one works */
  lastError: string | undefined;
}

/**
 * Holds the Vault token: logs in (retrying with backoff until it works), renews at two thirds of the TTL,
 * logs in again when a renewal is capped or fails or the token is refused, revokes it on stop.
 */
export class TokenManager {
  private tokenValue: string | undefined;
  private tokenTtl = 0;
  private tokenExpiresAt = 0;
  private timer: NodeJS.Timeout | undefined;
  private tokenRenewable = false;
  private nextActionAt: number | undefined;
  private lastLoginAt: number | undefined;
  private loginInflight: Promise<string> | undefined;
  private forbiddenInflight: Promise<boolean> | undefined;
  private waiters: Array<(t: string) => void> = [];
  /** tokens replaced by a re-login and left to expire (their leases may still be in use): revoked on stop */
  private superseded: Array<{ token: string; expiresAt: number }> = [];
  private readonly listeners: Array<() => void> = [];
  private stopped = false;
  private readonly stopController = new AbortController();
  private readonly now: () => number;
  private readonly random: () => number;
  private readonly backoff: BackoffPolicy;
  /** why there is no token yet, for /readyz (Vault's or STS's message, never a credential) */
  lastError: string | undefined;
  /** the same as a code, for the pod-IP /readyz (which shows no message) */
  lastErrorCode: LoginErrorCode | undefined;

  constructor(private readonly o: TokenManagerOptions) {
    this.now = o.now ?? Date.now;
    this.random = o.random ?? Math.random;
    this.backoff = o.loginBackoff ?? { baseMs: 1000, capMs: 30_000 };
  }

  /** First login in the background; token() waits for it. */
  start(): void {
    void this.relogin('start').catch(() => undefined);
  }

  /** Called after every login that replaced a token (not the first). */
  onNewToken(listener: () => void): void {
    this.listeners.push(listener);
  }

  current(): string | undefined {
    return this.tokenValue;
  }

  /**
   * Every token this process holds: the current one and those replaced but maybe still alive. A secret
   * whose data contains one of them is refused (the refresher checks), so none can reach the app.
   */
  held(): string[] {
    return [...(this.tokenValue !== undefined ? [this.tokenValue] : []), ...this.superseded.map((s) => s.token)];
  }

  /** Times and outcomes only: never the token. */
  state(): TokenState {
    const loggedIn = this.tokenValue !== undefined;
    return {
      loggedIn,
      expiresAt: loggedIn && this.tokenTtl > 0 ? this.tokenExpiresAt : undefined,
      nextActionAt: this.timer ? this.nextActionAt : undefined,
      nextAction: this.timer ? (this.tokenRenewable ? 'renew' : 'login') : undefined,
      renewable: this.tokenRenewable,
      lastLoginAt: this.lastLoginAt,
      lastError: this.lastError,
    };
  }

  /** The current token, waiting for the first login if needed. */
  token(): Promise<string> {
    if (this.tokenValue !== undefined) return Promise.resolve(this.tokenValue);
    if (this.stopped) return Promise.reject(new Stopped('stopped'));
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  /**
   * A request with `token` got 403. Is the token dead (expired, revoked) or is it the path's policy?
   * lookup-self decides; a dead token is replaced. True when the caller should retry with a new token.
   */
  handleForbidden(token: string): Promise<boolean> {
    if (token !== this.tokenValue) return Promise.resolve(true);
    this.forbiddenInflight ??= (async () => {
      try {
        await this.o.vault.request('lookup_self', 'GET', 'auth/token/lookup-self', { token, retry: false });
        return false;
      } catch (e) {
        if (e instanceof VaultError && e.status === 403) {
          this.o.log.warn({ event: 'token_rejected' }, 'Vault refused the token; logging in again');
          if (this.tokenValue === token) this.tokenValue = undefined;
          await this.relogin('token refused');
          return true;
        }
        return false;
      }
    })().finally(() => {
      this.forbiddenInflight = undefined;
    });
    return this.forbiddenInflight;
  }

  /**
   * Clears timers, then revokes the token and any it replaced that are still alive (one attempt each, in
   * parallel, bounded), so a stopped pod leaves no live token behind.
   */
  async stop(revokeTimeoutMs = 2000): Promise<void> {
    this.stopped = true;
    this.stopController.abort(new Stopped('stopped'));
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    const now = this.now();
    const tokens = [
      ...(this.tokenValue !== undefined ? [this.tokenValue] : []),
      ...this.superseded.filter((s) => s.expiresAt > now).map((s) => s.token),
    ];
    this.tokenValue = undefined;
    this.superseded = [];
    const results = await Promise.allSettled(
      tokens.map((token) =>
        this.o.vault.request('revoke_self', 'POST', 'auth/token/revoke-self', {
          token,
          retry: false,
          timeoutMs: revokeTimeoutMs,
          ignoreShutdown: true,
        }),
      ),
    );
    const failed = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (tokens.length > failed.length)
      this.o.log.info({ event: 'token_revoked', tokens: tokens.length - failed.length }, 'revoked the Vault token');
    if (failed.length > 0) {
      this.o.log.warn(
        { event: 'token_revoke_failed', tokens: failed.length, err: (failed[0]!.reason as Error).message },
        'could not revoke the Vault token',
      );
    }
  }

  private relogin(reason: string): Promise<string> {
    this.loginInflight ??= this.loginUntilSuccess(reason).finally(() => {
      this.loginInflight = undefined;
    });
    return this.loginInflight;
  }

  private async loginUntilSuccess(reason: string): Promise<string> {
    for (let attempt = 0; ; attempt++) {
      if (this.stopped) throw new Stopped('stopped');
      try {
        const token = await this.loginOnce(reason);
        return token;
      } catch (e) {
        if (this.stopped) throw new Stopped('stopped');
        this.lastError = (e as Error).message;
        this.lastErrorCode = loginErrorCode(e);
        this.o.metrics?.logins.inc({ outcome: 'failure' });
        const delay = Math.max(200, fullJitter(this.backoff, attempt, this.random));
        this.o.log.error(
          { event: 'login_failed', err: this.lastError, retryInMs: delay, attempt: attempt + 1 },
          'Vault login failed',
        );
        await abortableSleep(delay, this.stopController.signal).catch(() => undefined);
      }
    }
  }

  private async loginOnce(reason: string): Promise<string> {
    const credentials = await this.o.credentials();
    // Signed right here, immediately before the login: STS refuses signatures older than 15 minutes.
    const body = await buildIamLoginBody({
      role: this.o.role,
      credentials,
      region: this.o.stsRegion,
      ...(this.o.iamServerId !== undefined ? { iamServerId: this.o.iamServerId } : {}),
      now: new Date(this.now()),
    });
    const res = await this.o.vault.request<{ auth?: LoginAuth }>('login', 'POST', `auth/${this.o.authMount}/login`, {
      body,
    });
    const auth = res.body?.auth;
    if (!auth || typeof auth.client_token !== 'string' || auth.client_token === '') {
      throw new Error('Vault login answered without auth.client_token');
    }
    this.adopt(auth);
    this.o.metrics?.logins.inc({ outcome: 'success' });
    this.o.log.info(
      {
        event: reason === 'start' ? 'login' : 'relogin',
        reason,
        role: this.o.role,
        policies: auth.token_policies ?? auth.policies ?? [],
        ttlSeconds: auth.lease_duration,
        renewable: auth.renewable,
      },
      reason === 'start' ? 'logged in to Vault' : 'logged in to Vault again',
    );
    // The old token is left to expire rather than revoked: revoking it would revoke the dynamic-secret
    // leases it created while the app may still use them. Listeners re-read those under the new token.
    if (reason !== 'start') for (const l of this.listeners) l();
    return auth.client_token;
  }

  private adopt(auth: LoginAuth): void {
    const now = this.now();
    this.superseded = this.superseded.filter((s) => s.expiresAt > now);
    if (this.tokenValue !== undefined && this.tokenValue !== auth.client_token) {
      this.superseded.push({ token: this.tokenValue, expiresAt: this.tokenExpiresAt });
    }
    this.tokenValue = auth.client_token;
    this.tokenTtl = auth.lease_duration;
    this.tokenExpiresAt = now + auth.lease_duration * 1000;
    this.lastLoginAt = now;
    this.tokenRenewable = auth.renewable === true;
    this.lastError = undefined;
    this.lastErrorCode = undefined;
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w(auth.client_token);
    this.schedule(auth.lease_duration, auth.renewable);
  }

  private schedule(ttlSeconds: number, renewable: boolean): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    if (this.stopped || ttlSeconds <= 0) return; // a token without TTL needs no care
    const delay = renewDelayMs(ttlSeconds);
    this.tokenRenewable = renewable;
    this.nextActionAt = this.now() + delay;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      if (renewable) void this.renew();
      else void this.relogin('token not renewable').catch(() => undefined);
    }, delay);
    this.timer.unref();
  }

  private async renew(): Promise<void> {
    const token = this.tokenValue;
    if (token === undefined || this.stopped) return;
    const asked = this.tokenTtl;
    try {
      const res = await this.o.vault.request<{ auth?: LoginAuth }>('renew_self', 'POST', 'auth/token/renew-self', {
        token,
        body: { increment: `${asked}s` },
      });
      const got = res.body?.auth?.lease_duration ?? 0;
      if (renewalCapped(asked, got)) {
        this.o.metrics?.tokenRenewals.inc({ outcome: 'capped' });
        this.o.log.info(
          { event: 'renewal_capped', askedSeconds: asked, gotSeconds: got },
          'token renewal capped by max TTL; logging in again',
        );
        await this.relogin('renewal capped by max TTL');
        return;
      }
      this.o.metrics?.tokenRenewals.inc({ outcome: 'success' });
      this.tokenExpiresAt = this.now() + got * 1000;
      this.o.log.info({ event: 'renewal', ttlSeconds: got }, 'renewed the Vault token');
      this.schedule(got, res.body?.auth?.renewable ?? true);
    } catch (e) {
      if (this.stopped) return;
      this.o.metrics?.tokenRenewals.inc({ outcome: 'failure' });
      this.o.log.warn({ event: 'renewal_failed', err: (e as Error).message }, 'token renewal failed; logging in again');
      await this.relogin('renewal failed').catch(() => undefined);
    }
  }
}
