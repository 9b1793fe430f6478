import * as path from 'node:path';
import * as fs from 'fs-extra';
import * as lockfile from 'proper-lockfile';

/** A holder refreshes the lock's mtime this often; a lock not refreshed for STALE_MS is an abandoned one. */
const STALE_MS = 10_000;
const UPDATE_MS = 2_000;
const RETRY_MS = 250;

/**
 * Runs `body` while holding a lock folder, across processes: Nx runs tasks of a run-many in parallel
 * processes, and two of them must not write into the same place at once (pip writes *.egg-info into
 * the sources of a local library that two services share).
 *
 * proper-lockfile creates the folder atomically (mkdir) and its holder keeps refreshing its mtime, so a lock
 * whose owner died or never got further than mkdir is abandoned after STALE_MS, never after `waitMs`. A live
 * holder is waited for up to `waitMs`. If two processes take over the same abandoned lock at once, the one
 * that loses is told (proper-lockfile's "compromised") and fails with a clear message instead of going on.
 */
export async function withFileLock<T>(lockDir: string, body: () => Promise<T>, waitMs = 30 * 60 * 1000): Promise<T> {
  await fs.ensureDir(path.dirname(lockDir));
  let compromised: Error | undefined;
  const options: lockfile.LockOptions = {
    lockfilePath: lockDir,
    realpath: false,
    stale: STALE_MS,
    update: UPDATE_MS,
    onCompromised: (error) => {
      compromised = error;
    },
  };
  const started = Date.now();
  let release: () => Promise<void>;
  for (;;) {
    try {
      release = await lockfile.lock(lockDir, options);
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ELOCKED') throw error;
      if (Date.now() - started > waitMs) throw new Error(`waited ${Math.round(waitMs / 1000)}s for ${lockDir}, held by a running build: wait for it, or remove the folder if no build is running.`);
      await new Promise((resolve) => setTimeout(resolve, RETRY_MS));
    }
  }
  try {
    const result = await body();
    if (compromised) throw new Error(`another build took over ${lockDir} while this one held it (${compromised.message}): run the build again.`);
    return result;
  } finally {
    // Released already when compromised: only the holder may remove the folder.
    if (!compromised) await release().catch(() => undefined);
  }
}
