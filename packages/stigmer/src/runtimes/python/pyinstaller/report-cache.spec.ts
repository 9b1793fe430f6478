import { spawnSync } from 'node:child_process';
import * as os from 'node:os';
import * as path from 'node:path';
import * as fs from 'fs-extra';
import { helperScript } from './pyinstaller';

/**
 * run_pyinstaller.py keeps the last size report and uses it again while report_key is unchanged: the key, run by a
 * real python3 over a folder of distributions put on its path, must change with anything the report reads.
 */
describe('run_pyinstaller.py report_key', () => {
  let folder: string;
  let site: string;
  let executable: string;
  let script: string;

  const key = (service = 'svc'): string => {
    const code = `import run_pyinstaller as d; print(d.report_key(${JSON.stringify(executable)}, ${JSON.stringify(service)}, ${JSON.stringify(script)}))`;
    const result = spawnSync('python3', ['-c', code], { encoding: 'utf8', env: { ...process.env, PYTHONPATH: [path.dirname(helperScript('run_pyinstaller.py')), site].join(path.delimiter), PYTHONDONTWRITEBYTECODE: '1' } });
    if (result.status !== 0) throw new Error(result.stderr);
    return result.stdout.trim();
  };
  const distribution = (name: string, version: string, record = `${name}/__init__.py,,\n`) => {
    const info = path.join(site, `${name}-${version}.dist-info`);
    fs.outputFileSync(path.join(info, 'METADATA'), `Metadata-Version: 2.1\nName: ${name}\nVersion: ${version}\n`);
    fs.outputFileSync(path.join(info, 'RECORD'), record);
    return info;
  };

  beforeAll(() => {
    folder = fs.mkdtempSync(path.join(os.tmpdir(), 'stigmer-report-key-'));
    site = path.join(folder, 'site');
    executable = path.join(folder, 'app');
    script = path.join(folder, 'binary_report.py');
    fs.writeFileSync(executable, 'binary v1');
    fs.writeFileSync(script, '# report v1\n');
    distribution('alpha', '1.0');
  });

  afterAll(() => fs.removeSync(folder));

  it('is the same while nothing changed', () => {
    expect(key()).toMatch(/^[0-9a-f]{64}$/);
    expect(key()).toBe(key());
  });

  it('changes with the executable, the service name and the report script', () => {
    const before = key();
    fs.writeFileSync(executable, 'binary v2');
    expect(key()).not.toBe(before);
    expect(key('other')).not.toBe(key());
    const withScript = key();
    fs.writeFileSync(script, '# report v2\n');
    expect(key()).not.toBe(withScript);
  });

  it('changes when a distribution is installed, upgraded or its RECORD rewritten', () => {
    const before = key();
    const beta = distribution('beta', '2.0');
    const installed = key();
    expect(installed).not.toBe(before);
    fs.removeSync(beta);
    distribution('beta', '2.1');
    const upgraded = key();
    expect(upgraded).not.toBe(installed);
    // The same version installed again with other files (an editable reinstall): RECORD's size differs.
    distribution('beta', '2.1', 'beta/__init__.py,,\nbeta/extra.py,,\n');
    expect(key()).not.toBe(upgraded);
  });
});
