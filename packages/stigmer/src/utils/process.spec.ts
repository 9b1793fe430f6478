import * as fs from 'node:fs';
import { killLiveChildren, run } from './process';

/** True while a process exists and is not a zombie (a zombie has exited; only its parent has not reaped it). */
function alive(pid: number): boolean {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
}

async function waitFor(condition: () => boolean, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (condition()) return true;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  return condition();
}

// A child that starts a grandchild which does not hold the pipes: killing only the direct child would leave it running.
const SPAWNS_GRANDCHILD = ['-c', 'sleep 60 </dev/null >/dev/null 2>&1 & echo "$!"; wait'];

(process.platform === 'win32' ? describe.skip : describe)('run: the whole process tree', () => {
  it('a timeout kills the grandchildren too', async () => {
    let grandchild = 0;
    const started = Date.now();
    const result = await run('sh', SPAWNS_GRANDCHILD, {
      timeoutMs: 500,
      onLine: (line) => (grandchild = Number(line)),
    });
    expect(result.timedOut).toBe(true);
    expect(Date.now() - started).toBeLessThan(10000);
    expect(grandchild).toBeGreaterThan(0);
    expect(await waitFor(() => !alive(grandchild), 2000)).toBe(true);
  });

  it('killLiveChildren (the executor stopped by a signal) kills the grandchildren too', async () => {
    let grandchild = 0;
    const finished = run('sh', SPAWNS_GRANDCHILD, { onLine: (line) => (grandchild = Number(line)) });
    expect(await waitFor(() => grandchild > 0, 5000)).toBe(true);
    expect(alive(grandchild)).toBe(true);
    killLiveChildren('SIGTERM');
    const result = await finished;
    expect(result.signal).toBe('SIGTERM');
    expect(await waitFor(() => !alive(grandchild), 2000)).toBe(true);
  });

  it('a child that ends normally still reports its output and exit code', async () => {
    const result = await run('sh', ['-c', 'echo out; echo err >&2; exit 3']);
    expect(result).toMatchObject({ exitCode: 3, stdout: 'out\n', stderr: 'err\n', timedOut: false });
  });
});
