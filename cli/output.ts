import { ExitCode, UserError } from './errors.js';

/**
 * Buffered line output to stdout. Lines are joined into ~64 KiB writes (one write per
 * line would dominate the cost of `trace`). A closed pipe (`podwire trace … | head`) ends
 * the run quietly instead of throwing EPIPE; any other write error (a full disk) ends it
 * with a message at the next `drain()`.
 */
export class LineWriter {
  private buf: string[] = [];
  private size = 0;
  closed = false;
  /** a write error other than a closed pipe, reported by `drain()` */
  private error: Error | undefined;

  constructor(private readonly stream: NodeJS.WritableStream = process.stdout) {
    stream.on('error', (err: NodeJS.ErrnoException) => {
      this.closed = true;
      if (err.code !== 'EPIPE') this.error ??= err;
    });
  }

  line(s: string): void {
    if (this.closed) return;
    this.buf.push(s);
    this.size += s.length + 1;
    if (this.size >= 65536) this.flush();
  }

  flush(): void {
    if (this.buf.length === 0 || this.closed) return;
    this.stream.write(`${this.buf.join('\n')}\n`);
    this.buf = [];
    this.size = 0;
  }

  /** Resolves once everything written so far has been handed to the OS. */
  async drain(): Promise<void> {
    this.flush();
    if (!this.closed) await new Promise<void>((resolve) => this.stream.write('', () => resolve()));
    if (this.error !== undefined) {
      throw new UserError(`cannot write output: ${this.error.message}`, ExitCode.INPUT);
    }
  }
}
