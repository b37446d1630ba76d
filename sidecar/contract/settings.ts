/**
 * The shape of one row of a program's configuration table (sidecar/config.ts, webhook/config.ts): its name,
 * default, what it means (docs/configuration.md lists the same rows; a test compares them) and its parser. A
 * parser gets the trimmed value, or the default, or undefined when neither, and throws its program's error
 * naming the variable.
 */
export interface EnvSetting<T> {
  readonly name: string;
  readonly default?: string;
  readonly description: string;
  readonly parse: (text: string | undefined) => T;
}

/** Types one row (T inferred from its parser). */
export const setting = <T>(s: EnvSetting<T>): EnvSetting<T> => s;
