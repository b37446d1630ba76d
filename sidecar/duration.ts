import { ConfigError } from './errors.js';

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };
const PART = /(\d+(?:\.\d+)?)(ms|s|m|h|d)/gy;

/**
 * Parses a Go/Vault-style duration (`30s`, `5m`, `1h30m`, `250ms`; a bare integer means seconds, as Vault
 * takes it). Returns milliseconds, or undefined when the text is not a duration.
 */
export function parseDuration(text: string): number | undefined {
  const s = text.trim();
  if (s === '') return undefined;
  if (/^\d+$/.test(s)) return Number(s) * 1000;
  PART.lastIndex = 0;
  let total = 0;
  let consumed = 0;
  for (let m = PART.exec(s); m !== null; m = PART.exec(s)) {
    total += Number(m[1]) * (UNIT_MS[m[2] ?? ''] ?? NaN);
    consumed = PART.lastIndex;
  }
  if (consumed !== s.length || !Number.isFinite(total)) return undefined;
  return Math.round(total);
}

/** parseDuration for a variable: throws a ConfigError naming it when malformed or out of range. */
export function durationFromEnv(variable: string, text: string, min: number, max: number): number {
  const ms = parseDuration(text);
  if (ms === undefined) {
    throw new ConfigError(variable, `"${text}" is not a duration (use e.g. 30s, 5m, 1h)`);
  }
  if (ms < min || ms > max) {
    throw new ConfigError(variable, `"${text}" is out of range (${formatMs(min)} to ${formatMs(max)})`);
  }
  return ms;
}

function formatMs(ms: number): string {
  if (ms % 3_600_000 === 0) return `${ms / 3_600_000}h`;
  if (ms % 60_000 === 0) return `${ms / 60_000}m`;
  if (ms % 1000 === 0) return `${ms / 1000}s`;
  return `${ms}ms`;
}
