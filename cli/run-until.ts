/**
 * How the UDP intakes (`flows --sflow`, `flows --netflow`) run: ticking once a second (the
 * engines close flow windows and expire state by it) until SIGINT/SIGTERM or --duration.
 */
export async function tickUntilStopped(
  tick: (nowSec: number) => void,
  signal: AbortSignal,
  durationSeconds: number | undefined,
): Promise<void> {
  const ticker = setInterval(() => tick(Date.now() / 1000), 1000);
  try {
    await new Promise<void>((resolve) => {
      if (signal.aborted) return resolve();
      signal.addEventListener('abort', () => resolve(), { once: true });
      if (durationSeconds !== undefined) setTimeout(resolve, durationSeconds * 1000).unref();
    });
  } finally {
    clearInterval(ticker);
  }
}
