/**
 * SIGINT/SIGTERM for a process that stores what it has before it exits (`flows --store`,
 * `podwire all`; the first Ctrl-C used to be `process.once`, so a second one killed the
 * process mid-flush: the open window lost, lock files left).
 *
 * - The first signal aborts `signal`: the command stops its input and flushes (stores
 *   what is open; what the store cannot take in time goes to the spool).
 * - A second one does not interrupt that: it says how many rows are still being flushed,
 *   and that a third signal abandons the flush.
 * - A third abandons it: every tracked part spools what it has not stored, synchronously
 *   (nothing is lost: it replays at the next start), releases its locks, and the process
 *   exits with ABANDONED_EXIT_CODE (3).
 *
 * What a signal says goes to stderr (synchronous on Linux for files and pipes).
 */
export const ABANDONED_EXIT_CODE = 3;

/** A part of the process holding rows on their way to the store. */
export interface Abandonable {
  /** rows taken and not yet stored nor spooled */
  pendingRows(): number;
  /**
   * Spools, synchronously, what is left; releases locks. Returns the rows spooled and
   * dropped, and where they went.
   */
  abandon(): { spooled: number; dropped: number; where: string };
}

export interface StopSignalsOptions {
  signals?: NodeJS.Signals[];
  /** one line to the user (default: stderr) */
  say?: (line: string) => void;
  /** default process.exit */
  exit?: (code: number) => void;
}

/** What a command needs of it: the first signal, and a place to say what it holds. */
export type Stop = Pick<StopSignals, 'signal' | 'track'>;

export class StopSignals {
  private readonly ac = new AbortController();
  private readonly parts = new Set<Abandonable>();
  private readonly say: (line: string) => void;
  private readonly exit: (code: number) => void;
  private readonly signals: NodeJS.Signals[];
  private received = 0;
  private readonly handler = (sig: NodeJS.Signals) => this.on(sig);

  constructor(o: StopSignalsOptions = {}) {
    this.signals = o.signals ?? ['SIGINT', 'SIGTERM'];
    this.say = o.say ?? ((line) => process.stderr.write(`${line}\n`));
    this.exit = o.exit ?? ((code) => process.exit(code));
    for (const s of this.signals) process.on(s, this.handler);
  }

  /** Aborted by the first signal. */
  get signal(): AbortSignal {
    return this.ac.signal;
  }

  /** Tracks a part that holds rows (until the returned function is called). */
  track(part: Abandonable): () => void {
    this.parts.add(part);
    return () => this.parts.delete(part);
  }

  uninstall(): void {
    for (const s of this.signals) process.off(s, this.handler);
  }

  private pendingRows(): number {
    let n = 0;
    for (const p of this.parts) n += p.pendingRows();
    return n;
  }

  private on(sig: NodeJS.Signals): void {
    this.received++;
    if (this.received === 1) {
      if (this.parts.size > 0) {
        this.say(
          `podwire: ${sig}: stopping, storing what is open (${this.pendingRows()} rows); a second signal says what is left, a third abandons the flush (what is left goes to the spool)`,
        );
      }
      this.ac.abort();
      return;
    }
    if (this.received === 2) {
      this.say(
        this.parts.size > 0
          ? `podwire: ${sig} again: still flushing ${this.pendingRows()} rows; a third signal abandons — remaining rows go to the spool`
          : `podwire: ${sig} again: still stopping; a third signal exits now`,
      );
      return;
    }
    if (this.received === 3) this.abandon(sig);
  }

  private abandon(sig: NodeJS.Signals): void {
    if (this.parts.size === 0) {
      this.say(`podwire: ${sig} a third time: exiting before the stop finished; exit ${ABANDONED_EXIT_CODE}`);
      this.exit(ABANDONED_EXIT_CODE);
      return;
    }
    let spooled = 0;
    let dropped = 0;
    const where = new Set<string>();
    for (const p of this.parts) {
      try {
        const r = p.abandon();
        spooled += r.spooled;
        dropped += r.dropped;
        if (r.spooled > 0) where.add(r.where);
      } catch (err) {
        this.say(`podwire: abandoning the flush: ${(err as Error)?.message ?? err}`);
      }
    }
    this.say(
      `podwire: ${sig} a third time: flush abandoned; ${spooled} rows spooled${where.size > 0 ? ` in ${[...where].join(', ')}` : ''} for the next start` +
        (dropped > 0 ? `, ${dropped} rows DROPPED (they could not be spooled)` : '') +
        `; exit ${ABANDONED_EXIT_CODE}`,
    );
    this.exit(ABANDONED_EXIT_CODE);
  }
}
