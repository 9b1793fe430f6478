import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { helperScript } from './pyinstaller';

/**
 * python/run_pyinstaller.py's Precompressor, run by a real python3: the archive's members are compressed ahead of
 * PyInstaller's writer on several threads, handed out in the writer's order, with a bounded number in flight.
 * That the bytes of a build are the same with and without it is proven in e2e/src/bad-input.e2e.ts.
 */
describe('run_pyinstaller.py Precompressor', () => {
  function python(code: string): unknown {
    const result = spawnSync('python3', ['-c', code], { encoding: 'utf8', env: { ...process.env, PYTHONPATH: path.dirname(helperScript('run_pyinstaller.py')) } });
    if (result.status !== 0) throw new Error(result.stderr);
    return JSON.parse(result.stdout.trim());
  }

  // A compress_one that takes `compressMs` and records how many run at once and how far ahead of the writer they
  // start; the writer spends `writeMs` on each member it takes.
  const harness = (workers: number, sources: string, takes: string, { compressMs = 50, writeMs = 0 } = {}) =>
    [
      'import json, threading, time, run_pyinstaller',
      'lock = threading.Lock(); state = {"running": 0, "most": 0, "started": [], "threads": set()}',
      'def compress_one(source):',
      '    with lock:',
      '        state["running"] += 1; state["most"] = max(state["most"], state["running"]); state["started"].append(source); state["threads"].add(threading.get_ident())',
      `    time.sleep(${compressMs / 1000})`,
      '    with lock: state["running"] -= 1',
      '    if source == "bad": raise OSError("unreadable")',
      '    return ("key-" + source, source.upper().encode())',
      `pre = run_pyinstaller.Precompressor(${sources}, compress_one, ${workers})`,
      'taken = []; ahead = []',
      `for source in ${takes}:`,
      '    try:',
      '        taken.append(pre.take(source)[1].decode())',
      '    except OSError as error:',
      '        taken.append("error: " + str(error))',
      '    ahead.append(len(state["started"]) - len(taken))',
      `    time.sleep(${writeMs / 1000})`,
      'pre.close()',
      'print(json.dumps({"taken": taken, "most": state["most"], "threads": len(state["threads"]), "ahead": max(ahead)}))',
    ].join('\n');

  it('hands each member to the writer in its order, compressed on several threads at once', () => {
    const sources = JSON.stringify(Array.from({ length: 12 }, (_, i) => `m${i}`));
    const result = python(harness(2, sources, sources)) as { taken: string[]; most: number; threads: number };
    expect(result.taken).toEqual(Array.from({ length: 12 }, (_, i) => `M${i}`));
    expect(result.most).toBe(2);
    expect(result.threads).toBe(2);
  });

  it('compresses at most twice as many members ahead of a slow writer as it has workers', () => {
    const sources = JSON.stringify(Array.from({ length: 20 }, (_, i) => `m${i}`));
    const result = python(harness(2, sources, sources, { compressMs: 1, writeMs: 20 })) as { ahead: number };
    expect(result.ahead).toBeLessThanOrEqual(2 * 2);
  });

  it("raises a member's error when the writer takes that member (the driver then hands it to PyInstaller), and goes on", () => {
    const result = python(harness(2, '["a", "bad", "c"]', '["a", "bad", "c"]')) as { taken: string[] };
    expect(result.taken).toEqual(['A', 'error: unreadable', 'C']);
  });

  it('compresses a member it was not told about when the writer asks, and works inline with one core', () => {
    expect((python(harness(2, '["a"]', '["a", "z"]')) as { taken: string[] }).taken).toEqual(['A', 'Z']);
    const single = python(harness(1, '["a", "b", "c"]', '["a", "b", "c"]')) as { taken: string[]; most: number };
    expect(single).toMatchObject({ taken: ['A', 'B', 'C'], most: 1 });
  });
});
