/**
 * The progress line on stderr: rewritten in place on a terminal, one line a few seconds
 * apart otherwise (CI logs). Silent when disabled (the smoke test).
 */
export class Progress {
  private last = 0;
  private readonly tty = process.stderr.isTTY === true;

  constructor(private readonly enabled: boolean) {}

  update(line: string): void {
    if (!this.enabled) return;
    const now = Date.now();
    if (now - this.last < (this.tty ? 250 : 5_000)) return;
    this.last = now;
    if (this.tty) process.stderr.write(`\r\x1b[K${line}`);
    else process.stderr.write(`${line}\n`);
  }

  done(line: string): void {
    if (!this.enabled) return;
    this.last = 0;
    process.stderr.write(this.tty ? `\r\x1b[K${line}\n` : `${line}\n`);
  }
}
