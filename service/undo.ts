/**
 * What a role started, closed in reverse on the way out: each part pushes its own close
 * as it starts, so a start that fails halfway closes exactly what it opened.
 */
export class Undo {
  private readonly steps: (() => Promise<void>)[] = [];

  constructor(private readonly log: (line: string) => void) {}

  push(step: () => Promise<void>): void {
    this.steps.push(step);
  }

  async unwind(): Promise<void> {
    for (const f of this.steps.splice(0).reverse())
      await f().catch((e: Error) => this.log(`closing: ${e.message}`));
  }
}
