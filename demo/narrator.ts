/** The demo's voice: numbered steps, indented details, elapsed time. Plain text when not on a terminal. */
const tty = process.stdout.isTTY === true;
const bold = (s: string): string => (tty ? `\x1b[1m${s}\x1b[0m` : s);
const dim = (s: string): string => (tty ? `\x1b[2m${s}\x1b[0m` : s);

export class Narrator {
  private step = 0;
  private readonly started = Date.now();

  title(text: string): void {
    process.stdout.write(`${bold(text)}\n`);
  }

  section(text: string): void {
    this.step += 1;
    process.stdout.write(`\n${bold(`${this.step}. ${text}`)}\n`);
  }

  line(text: string): void {
    process.stdout.write(`   ${text}\n`);
  }

  detail(text: string): void {
    process.stdout.write(`   ${dim(text)}\n`);
  }

  elapsedMs(): number {
    return Date.now() - this.started;
  }
}

/** The first `max` characters of a JSON rendering, for one-line displays. */
export function brief(value: unknown, max = 110): string {
  const s = JSON.stringify(value);
  return s.length > max ? `${s.slice(0, max - 1)}…` : s;
}
