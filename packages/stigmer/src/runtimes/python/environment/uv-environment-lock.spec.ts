import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { withUvEnvironmentLock } from './environment';
import type { PythonProjectMetadata } from '../project/project-metadata';

/**
 * Two members of one uv workspace share the .venv beside its uv.lock: a build holds that environment's lock
 * from its sync to PyInstaller's end, and the sync inside it takes the same lock again without waiting.
 */
describe('withUvEnvironmentLock', () => {
  const workspace = fs.mkdtempSync(path.join(os.tmpdir(), 'stigmer-uv-lock-'));
  const savedPath = process.env.PATH;
  const member = (name: string) => ({ name, root: `apps/${name}`, absRoot: path.join(workspace, 'apps', name), workspaceRoot: workspace });
  const metadata = (uvLock?: string) => ({ style: 'uv', dependencies: [], requirementFiles: [], dependencyFiles: [], uvLock }) as PythonProjectMetadata;
  const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

  beforeAll(() => {
    // Only uv's presence on PATH is asked.
    fs.mkdirSync(path.join(workspace, 'bin'));
    fs.writeFileSync(path.join(workspace, 'bin', 'uv'), '#!/bin/sh\n', { mode: 0o755 });
    process.env.PATH = `${path.join(workspace, 'bin')}${path.delimiter}${savedPath}`;
  });
  afterAll(() => {
    process.env.PATH = savedPath;
    fs.rmSync(workspace, { recursive: true, force: true });
  });

  it('runs the builds of two members of one uv workspace one after the other, and a nested take does not wait', async () => {
    const events: string[] = [];
    const build = (name: string) =>
      withUvEnvironmentLock(member(name), metadata('../../uv.lock'), async () => {
        events.push(`${name} start`);
        await withUvEnvironmentLock(member(name), metadata('../../uv.lock'), async () => events.push(`${name} sync`));
        await pause(300);
        events.push(`${name} end`);
      });
    await Promise.all([build('a'), pause(50).then(() => build('b'))]);
    expect(events).toEqual(['a start', 'a sync', 'a end', 'b start', 'b sync', 'b end']);
  });

  it('does not hold services with another uv.lock, or none, back', async () => {
    const events: string[] = [];
    const run = (name: string, lock: string | undefined) =>
      withUvEnvironmentLock(member(name), metadata(lock), async () => {
        events.push(`${name} start`);
        await pause(200);
        events.push(`${name} end`);
      });
    await Promise.all([run('a', 'uv.lock'), run('b', 'uv.lock'), run('c', undefined)]);
    expect(events.slice(0, 3).sort()).toEqual(['a start', 'b start', 'c start']);
  });
});
