/**
 * No credential secret in an error: the web identity token and the Pod Identity authorization token are
 * replaced by a label wherever they appear in an error's message and stack (either may be logged), whoever
 * wrote the message (a server echoing a request, Node quoting a value). Pure but for the error it is given.
 */

/** `text` with every occurrence of `secret` replaced by `[label]`; secrets under 8 characters are not looked for. */
export function redact(text: string, secret: string | undefined, label: string): string {
  return secret !== undefined && secret.length >= 8 ? text.split(secret).join(`[${label}]`) : text;
}

/** The same error, its message and stack redacted; a non-Error is wrapped first. */
export function scrubbed(e: unknown, secret: string | undefined, label: string): Error {
  const err = e instanceof Error ? e : new Error(String(e));
  err.message = redact(err.message, secret, label);
  if (err.stack !== undefined) err.stack = redact(err.stack, secret, label);
  return err;
}
