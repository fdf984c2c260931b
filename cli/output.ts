import { ExitCode, UserError } from './errors.js';

/**
 * Buffered line output to stdout. Lines are joined into ~64 KiB writes (one write per
 * line would dominate the cost of `trace`). A closed pipe (`podwire trace … | head`) ends
 * the run quietly instead of throwing EPIPE; any other write error (a full disk) ends it
 * with a message at the next `drain()`.
 */
export class LineWriter {
  /** lines and their newlines, or the pieces of lines (see `pieces`), joined once per write */
  private buf: (string | number)[] = [];
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
    this.buf.push(s, '\n');
    this.size += s.length + 1;
    if (this.size >= 65536) this.flush();
  }

  /**
   * Where to push the pieces of the next line (strings and numbers, written as `${n}`
   * writes them), then `endLine`; null once the output is closed. A line of many pieces
   * costs a third less this way than as one string made per line (`podwire flows`).
   */
  pieces(): (string | number)[] | null {
    return this.closed ? null : this.buf;
  }

  /** Ends the line whose pieces were pushed; `length` (about) counts toward the write size. */
  endLine(length: number): void {
    this.buf.push('\n');
    this.size += length + 1;
    if (this.size >= 65536) this.flush();
  }

  flush(): void {
    if (this.buf.length === 0 || this.closed) return;
    this.stream.write(this.buf.join(''));
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
