/**
 * The one error base of both programs (sidecar and webhook): a stable `code` that callers branch on, never the
 * message text, which is for people and may be reworded. In the contract because both programs extend it.
 */
export class VaultIrsaError extends Error {
  readonly code: string;
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = new.target.name;
  }
}
