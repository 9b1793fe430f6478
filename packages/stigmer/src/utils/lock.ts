import * as path from 'node:path';
import * as fs from 'fs-extra';

/**
 * Runs `body` while holding a lock folder, across processes: Nx runs tasks of a run-many in parallel
 * processes, and two of them must not write into the same place at once (pip writes *.egg-info into
 * the sources of a local library that two services share). A lock whose owner died is taken over.
 */
export async function withFileLock<T>(lockDir: string, body: () => Promise<T>, waitMs = 30 * 60 * 1000): Promise<T> {
  await fs.ensureDir(path.dirname(lockDir));
  const started = Date.now();
  for (;;) {
    try {
      await fs.mkdir(lockDir);
      await fs.writeFile(path.join(lockDir, 'owner'), String(process.pid));
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      if (!ownerAlive(lockDir)) {
        await fs.remove(lockDir);
        continue;
      }
      if (Date.now() - started > waitMs) throw new Error(`waited ${Math.round(waitMs / 1000)}s for ${lockDir}: remove it if no build is running.`);
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  }
  try {
    return await body();
  } finally {
    await fs.remove(lockDir);
  }
}

function ownerAlive(lockDir: string): boolean {
  let pid: number;
  try {
    pid = Number(fs.readFileSync(path.join(lockDir, 'owner'), 'utf8'));
  } catch {
    return true; // being created right now
  }
  if (!pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
