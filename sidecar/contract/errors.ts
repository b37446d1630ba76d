/**
 * The one error base of both programs (sidecar and webhook): a stable `code` that callers branch on, never the
 * message text, which is for people and may be reworded. In the contract because both programs extend it.
 */
export class VaultIrsaError extends Error {
  readonly code: string;
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    // a subclass the sidecar bundle ships declares `override readonly name = '<its class name>'`: that bundle
    // minifies identifiers, so there new.target.name is a mangled one (test/unit/shape/error-base.test.ts)
    this.name = new.target.name;
  }
}
