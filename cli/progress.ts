/**
 * Progress of long file work on stderr, only when stderr is a terminal: packets/s and,
 * when the input size is known, the percent read. Redrawn at most 4 times a second.
 */
export class Progress {
  private readonly started = performance.now();
  private lastDraw = 0;
  private drawn = false;

  constructor(
    private readonly totalBytes: number | null,
    private readonly enabled = process.stderr.isTTY === true,
  ) {}

  update(bytes: number, packets: number): void {
    if (!this.enabled) return;
    const now = performance.now();
    if (now - this.lastDraw < 250) return;
    this.lastDraw = now;
    const secs = (now - this.started) / 1000;
    const rate = secs > 0 ? Math.round(packets / secs) : 0;
    const pct = this.totalBytes ? ` ${((100 * bytes) / this.totalBytes).toFixed(1)}%` : '';
    process.stderr.write(
      `\r\x1b[K${packets.toLocaleString('en')} packets, ${rate.toLocaleString('en')} packets/s${pct}`,
    );
    this.drawn = true;
  }

  done(): void {
    if (this.drawn) process.stderr.write('\r\x1b[K');
  }
}
