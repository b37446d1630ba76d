import { parseDuration } from './contract/grammars.js';
import { ConfigError } from './errors.js';

export { parseDuration };

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
