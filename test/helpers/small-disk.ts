/**
 * Small real filesystems for tests that need a disk to fill up or to stall (as root):
 *
 * - `mountTmpfs(dir, size)`: a tmpfs of `size` (e.g. '1m') at `dir`; `fill()` writes a
 *   file until the disk refuses a single byte more (ENOSPC), and returns its path.
 * - `mountFreezable(dir, megabytes)`: an ext4 filesystem in a file, on a loop device, at
 *   `dir`; `freeze()` stalls every write to it in the kernel (fsfreeze) until `thaw()`.
 *   A frozen filesystem makes the writers to it unkillable until it thaws, so `freeze()`
 *   also starts a detached watchdog that thaws it after `maxFrozenMs` whatever happens to
 *   the test process.
 *
 * `unmount()` unmounts lazily (a failed test may leave a file open there) and is
 * idempotent.
 */
import { execFileSync, spawn } from 'node:child_process';
import { closeSync, mkdirSync, openSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';

export interface SmallDisk {
  readonly path: string;
  /** fills the filesystem with a file (the path returned) until ENOSPC */
  fill(): string;
  unmount(): void;
}

export interface FreezableDisk {
  readonly path: string;
  freeze(maxFrozenMs?: number): void;
  thaw(): void;
  unmount(): void;
}

export function mountTmpfs(dir: string, size: string): SmallDisk {
  mkdirSync(dir, { recursive: true });
  execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${size}`, 'tmpfs', dir]);
  let mounted = true;
  return {
    path: dir,
    fill: () => fill(dir),
    unmount() {
      if (!mounted) return;
      mounted = false;
      execFileSync('umount', ['-l', dir]);
    },
  };
}

function fill(dir: string): string {
  const path = join(dir, `filler-${process.pid}-${Date.now()}`);
  const fd = openSync(path, 'a');
  try {
    for (const size of [65536, 4096, 512, 1]) {
      const chunk = Buffer.alloc(size, 0x55);
      try {
        for (;;) writeSync(fd, chunk);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOSPC') throw err;
      }
    }
  } finally {
    closeSync(fd);
  }
  return path;
}

export function mountFreezable(dir: string, megabytes: number): FreezableDisk {
  mkdirSync(dir, { recursive: true });
  const image = `${dir}.img`;
  execFileSync('truncate', ['-s', `${megabytes}M`, image]);
  execFileSync('mkfs.ext4', ['-q', '-F', image]);
  execFileSync('mount', ['-o', 'loop', image, dir]);
  let mounted = true;
  let frozen = false;
  let watchdog: number | undefined;
  const thaw = () => {
    if (!frozen) return;
    frozen = false;
    try {
      execFileSync('fsfreeze', ['-u', dir]);
    } catch {
      // the watchdog thawed it first
    }
    if (watchdog !== undefined) {
      try {
        process.kill(watchdog, 'SIGKILL');
      } catch {
        // done already
      }
    }
  };
  return {
    path: dir,
    freeze(maxFrozenMs = 60_000) {
      execFileSync('fsfreeze', ['-f', dir]);
      frozen = true;
      const dog = spawn(
        'sh',
        ['-c', `sleep ${Math.ceil(maxFrozenMs / 1000)}; fsfreeze -u "$1"`, 'watchdog', dir],
        {
          detached: true,
          stdio: 'ignore',
        },
      );
      dog.unref();
      watchdog = dog.pid;
    },
    thaw,
    unmount() {
      thaw();
      if (!mounted) return;
      mounted = false;
      execFileSync('umount', ['-l', dir]);
      rmSync(image, { force: true });
    },
  };
}
