import { spawnSync } from 'node:child_process';
import * as os from 'node:os';
import * as path from 'node:path';
import * as fs from 'fs-extra';
import { helperScript } from '../pyinstaller/pyinstaller';
import { readImportRecords, TraceResult, traceChecks } from './verify';

/**
 * python/import_trace/sitecustomize.py run by a real python3, as test-binary runs it: the record must survive
 * os._exit, a kill, and forked multiprocessing children; verify fails a trace whose command left none.
 */
describe('import recorder (real python3)', () => {
  let folder: string;
  let output: string;

  beforeEach(() => {
    folder = fs.mkdtempSync(path.join(os.tmpdir(), 'stigmer-recorder-'));
    output = path.join(folder, 'trace');
    // A module of the "service": a plain file beside the script.
    fs.outputFileSync(path.join(folder, 'svc_plugin.py'), 'VALUE = 1\n');
    fs.outputFileSync(path.join(folder, 'svc_child.py'), 'VALUE = 2\n');
  });

  afterEach(() => fs.removeSync(folder));

  function trace(script: string, timeoutMs = 60_000) {
    fs.outputFileSync(path.join(folder, 'main.py'), script);
    const { PYTHONPATH, ...env } = process.env;
    void PYTHONPATH;
    return spawnSync('python3', [path.join(folder, 'main.py')], {
      cwd: folder,
      encoding: 'utf8',
      timeout: timeoutMs,
      killSignal: 'SIGKILL',
      env: { ...env, PYTHONPATH: [helperScript('import_trace'), folder].join(path.delimiter), STIGMER_IMPORT_TRACE: output },
    });
  }

  it('records a program that ends with os._exit', async () => {
    const run = trace('import os, importlib\nimportlib.import_module("svc_plugin")\nimport xml.dom.minidom\nos._exit(0)\n');
    expect(run.status).toBe(0);
    const { modules, topRecorded } = await readImportRecords(output);
    expect(topRecorded).toBe(true);
    expect(modules.svc_plugin).toEqual({ file: fs.realpathSync(path.join(folder, 'svc_plugin.py')), kind: 'source' });
    expect(modules['xml.dom.minidom'].kind).toBe('stdlib');
  });

  it('records what a program imported before it was killed', async () => {
    const run = trace('import time, svc_plugin\nprint("ready", flush=True)\ntime.sleep(60)\n', 3_000);
    expect(run.signal).toBe('SIGKILL');
    const { modules, topRecorded } = await readImportRecords(output);
    expect(topRecorded).toBe(true);
    expect(Object.keys(modules)).toContain('svc_plugin');
  });

  it('records forked multiprocessing children (they end in os._exit)', async () => {
    const script = [
      'import multiprocessing, os',
      'def work():',
      '    import svc_child',
      'if __name__ == "__main__":',
      '    context = multiprocessing.get_context("fork")',
      '    child = context.Process(target=work)',
      '    child.start(); child.join()',
      '    assert child.exitcode == 0',
      '    os._exit(0)',
      '',
    ].join('\n');
    const run = trace(script);
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
    const { modules } = await readImportRecords(output);
    expect(modules.svc_child?.kind).toBe('source');
    expect(fs.readdirSync(output).length).toBe(2);
  });

  it('fails the check when the command left no record, instead of "imported 0 modules"', async () => {
    fs.ensureDirSync(output);
    const { modules, topRecorded } = await readImportRecords(output);
    const project = { name: 'api', root: 'api', absRoot: folder, workspaceRoot: folder };
    const result: TraceResult = { exitCode: 0, timedOut: false, output: '', modules, topRecorded };
    const [check, ...rest] = traceChecks({ label: 'traceCommand', argv: ['sh', '-c', 'true'] }, result, [], 'api.spec', project);
    expect(rest).toEqual([]);
    expect(check.ok).toBe(false);
    expect(check.detail).toContain('"sh -c true" left no import record, so its imports are unknown');
    // With the record, the same run passes.
    const passing = traceChecks({ label: 'traceCommand', argv: ['sh', '-c', 'true'] }, { ...result, topRecorded: true }, [], 'api.spec', project);
    expect(passing[0].ok).toBe(true);
  });
});
