import { ChildProcess, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as ts from 'typescript';
import { withFileLock } from './lock';

/**
 * The lock is between processes (Nx runs the tasks of a run-many in parallel processes), so the contention
 * cases run real child node processes, each loading this very lock.ts (transpiled once into the temp folder).
 */
describe('withFileLock', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'stigmer-lock-'));
  const lock = path.join(dir, '.lock');
  const worker = path.join(dir, 'worker.js');

  beforeAll(() => {
    const source = fs.readFileSync(path.join(__dirname, 'lock.ts'), 'utf8');
    fs.writeFileSync(path.join(dir, 'lock.js'), ts.transpileModule(source, { compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022, esModuleInterop: true } }).outputText);
    // worker.js <name> <rounds> <holdMs>: takes the lock `rounds` times; inside, a read-modify-write of a counter
    // that loses increments unless the lock excludes the other process, and a journal of who is inside.
    fs.writeFileSync(
      worker,
      `const fs = require('fs'); const path = require('path'); const { withFileLock } = require('./lock.js');
const [name, rounds, holdMs] = [process.argv[2], Number(process.argv[3]), Number(process.argv[4])];
const counter = path.join(__dirname, 'counter'); const journal = path.join(__dirname, 'journal');
(async () => {
  for (let i = 0; i < rounds; i++) {
    await withFileLock(path.join(__dirname, '.lock'), async () => {
      fs.appendFileSync(journal, name + ' in\\n');
      const value = Number(fs.readFileSync(counter, 'utf8'));
      await new Promise((r) => setTimeout(r, holdMs));
      fs.writeFileSync(counter, String(value + 1));
      fs.appendFileSync(journal, name + ' out\\n');
    });
  }
  process.stdout.write('done');
})().catch((e) => { console.error(e.message); process.exit(1); });
`,
    );
  });
  beforeEach(() => {
    fs.rmSync(lock, { recursive: true, force: true });
    fs.writeFileSync(path.join(dir, 'counter'), '0');
    fs.writeFileSync(path.join(dir, 'journal'), '');
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  function startWorker(name: string, rounds: number, holdMs: number): ChildProcess {
    return spawn(process.execPath, [worker, name, String(rounds), String(holdMs)], {
      cwd: dir,
      env: { ...process.env, NODE_PATH: path.join(__dirname, '..', '..', '..', '..', 'node_modules') },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
  }
  function finished(child: ChildProcess): Promise<{ code: number | null; output: string }> {
    let output = '';
    child.stdout?.on('data', (d) => (output += d));
    child.stderr?.on('data', (d) => (output += d));
    return new Promise((resolve) => child.on('close', (code) => resolve({ code, output })));
  }
  /** The journal shows every holder leaving before the next one enters. */
  function expectNoOverlap(): string[] {
    const lines = fs.readFileSync(path.join(dir, 'journal'), 'utf8').trim().split('\n');
    for (let i = 0; i < lines.length; i += 2) {
      expect(lines[i]).toMatch(/ in$/);
      expect(lines[i + 1]).toBe(lines[i].replace(/ in$/, ' out'));
    }
    return lines;
  }

  it('two processes contending: never both inside, no increment lost', async () => {
    const results = await Promise.all([finished(startWorker('a', 15, 10)), finished(startWorker('b', 15, 10))]);
    expect(results).toEqual([
      { code: 0, output: 'done' },
      { code: 0, output: 'done' },
    ]);
    expect(fs.readFileSync(path.join(dir, 'counter'), 'utf8')).toBe('30');
    const lines = expectNoOverlap();
    expect(new Set(lines.map((line) => line.split(' ')[0]))).toEqual(new Set(['a', 'b']));
    expect(fs.existsSync(lock)).toBe(false);
  }, 60000);

  it('a lock whose owner died before writing anything is taken over in seconds, by one process at a time', async () => {
    // What a process killed right after mkdir leaves: an empty lock folder that nobody refreshes.
    fs.mkdirSync(lock);
    const past = new Date(Date.now() - 60_000);
    fs.utimesSync(lock, past, past);
    const started = Date.now();
    const results = await Promise.all([finished(startWorker('a', 3, 10)), finished(startWorker('b', 3, 10))]);
    expect(results.map((r) => r.code)).toEqual([0, 0]);
    expect(Date.now() - started).toBeLessThan(20000);
    expect(fs.readFileSync(path.join(dir, 'counter'), 'utf8')).toBe('6');
    expectNoOverlap();
  }, 60000);

  it('a holder killed mid-way (SIGKILL, no clean-up) does not block the next process for long', async () => {
    const holder = startWorker('dead', 1, 120_000);
    const holderDone = finished(holder);
    while (!fs.readFileSync(path.join(dir, 'journal'), 'utf8').includes('dead in')) await new Promise((r) => setTimeout(r, 50));
    holder.kill('SIGKILL');
    await holderDone;
    expect(fs.existsSync(lock)).toBe(true);
    const started = Date.now();
    expect(await finished(startWorker('next', 1, 10))).toEqual({ code: 0, output: 'done' });
    // Abandoned after the stale time (10 s), not after the wait limit (30 min).
    expect(Date.now() - started).toBeLessThan(20000);
  }, 60000);

  it('waits for a live holder rather than taking over its lock, however long it holds it', async () => {
    // The holder keeps it for longer than the stale time: its refreshes must keep the other one out.
    const long = finished(startWorker('long', 1, 13_000));
    while (!fs.readFileSync(path.join(dir, 'journal'), 'utf8').includes('long in')) await new Promise((r) => setTimeout(r, 50));
    const results = await Promise.all([long, finished(startWorker('b', 1, 10))]);
    expect(results.map((r) => r.code)).toEqual([0, 0]);
    expect(fs.readFileSync(path.join(dir, 'counter'), 'utf8')).toBe('2');
    expectNoOverlap();
  }, 60000);

  it('releases the lock when the body fails', async () => {
    await expect(withFileLock(lock, async () => { throw new Error('boom'); })).rejects.toThrow('boom');
    expect(fs.existsSync(lock)).toBe(false);
  });

  it('gives up after the wait limit with a line that says what to do', async () => {
    await withFileLock(lock, async () => {
      await expect(withFileLock(lock, async () => 'never', 500)).rejects.toThrow(/waited 1s for .*\.lock, held by a running build: wait for it, or remove the folder/);
    });
  });
});
