import * as path from 'node:path';
import { StigmerError } from '../../../utils/errors';
import { chooseEnvironment, EnvironmentProbe, managedInstallArgs, managedVenvDir, PYINSTALLER_VERSION } from './environment';
import { pinSourceOf, unpinnedNotice } from './managed-install';
import { readPythonProject } from '../project/project-metadata';

const nothing: EnvironmentProbe = { hasPoetryLock: false, hasUvLock: false, poetryOnPath: false, uvOnPath: false };

describe('chooseEnvironment', () => {
  it('uses an explicit interpreter first', () => {
    expect(chooseEnvironment({ ...nothing, python: '/usr/bin/python3.12', hasPoetryLock: true, poetryOnPath: true, hasUvLock: true, uvOnPath: true })).toBe('interpreter');
  });

  it('uses Poetry for a poetry.lock when poetry is on PATH', () => {
    expect(chooseEnvironment({ ...nothing, hasPoetryLock: true, poetryOnPath: true })).toBe('poetry');
    expect(chooseEnvironment({ ...nothing, hasPoetryLock: true, poetryOnPath: true, hasUvLock: true, uvOnPath: true })).toBe('poetry');
  });

  it('falls back to a managed environment for a poetry.lock without poetry', () => {
    expect(chooseEnvironment({ ...nothing, hasPoetryLock: true, uvOnPath: true })).toBe('managed');
  });

  it('uses uv for a uv.lock when uv is on PATH, else a managed environment', () => {
    expect(chooseEnvironment({ ...nothing, hasUvLock: true, uvOnPath: true })).toBe('uv');
    expect(chooseEnvironment({ ...nothing, hasUvLock: true, poetryOnPath: true })).toBe('managed');
  });

  it('uses a managed environment when nothing else applies', () => {
    expect(chooseEnvironment(nothing)).toBe('managed');
    expect(chooseEnvironment({ ...nothing, poetryOnPath: true, uvOnPath: true })).toBe('managed');
    expect(chooseEnvironment({ ...nothing, environment: 'auto' })).toBe('managed');
  });

  it('follows an explicit environment option', () => {
    expect(chooseEnvironment({ ...nothing, environment: 'managed', hasPoetryLock: true, poetryOnPath: true })).toBe('managed');
    expect(chooseEnvironment({ ...nothing, environment: 'poetry', poetryOnPath: true })).toBe('poetry');
    expect(chooseEnvironment({ ...nothing, environment: 'uv', uvOnPath: true })).toBe('uv');
    expect(chooseEnvironment({ ...nothing, environment: 'interpreter', python: 'python3.11' })).toBe('interpreter');
  });

  it('throws an actionable error when the asked tool is not on PATH', () => {
    expect(() => chooseEnvironment({ ...nothing, environment: 'poetry', hasPoetryLock: true })).toThrow(StigmerError);
    expect(() => chooseEnvironment({ ...nothing, environment: 'poetry', hasPoetryLock: true })).toThrow(/PATH/);
    expect(() => chooseEnvironment({ ...nothing, environment: 'uv', hasUvLock: true })).toThrow(/uv is not on PATH/);
  });

  it("throws when environment 'interpreter' has no python option", () => {
    expect(() => chooseEnvironment({ ...nothing, environment: 'interpreter' })).toThrow(/python/);
  });
});

describe('managedInstallArgs', () => {
  const files: Record<string, string> = {
    'pyproject.toml': `[tool.poetry]
name = "agent-runner"
version = "0.1.0"

[tool.poetry.dependencies]
python = "^3.11"
pyjwt = "^2.8"
grpcio = { version = "^1.60", extras = ["protobuf"] }
graphton = { path = "../libs/graphton", develop = true }

[tool.poetry.group.dev.dependencies]
pytest = "^8"
`,
    'requirements.txt': 'requests==2.31.0\n-e ../libs/other\n',
  };
  const metadata = readPythonProject((file) => files[file]);
  const args = managedInstallArgs(metadata);

  function adjacent(list: string[], first: string, second: string): boolean {
    return list.some((value, i) => value === first && list[i + 1] === second);
  }

  it('pins PyInstaller first', () => {
    expect(args[0]).toBe(`pyinstaller==${PYINSTALLER_VERSION}`);
  });

  it('lists the PEP 508 requirements of pyproject.toml, not the dev group', () => {
    expect(args).toContain('pyjwt>=2.8,<3.0');
    expect(args).toContain('grpcio[protobuf]>=1.60,<2.0');
    expect(args.some((a) => a.startsWith('pytest'))).toBe(false);
    expect(args.some((a) => a.startsWith('python'))).toBe(false);
  });

  it('installs local path dependencies editable, in compat mode', () => {
    expect(adjacent(args, '-e', '../libs/graphton')).toBe(true);
    expect(adjacent(args, '--config-settings', 'editable_mode=compat')).toBe(true);
  });

  it('passes requirement files with -r, not their lines', () => {
    expect(adjacent(args, '-r', 'requirements.txt')).toBe(true);
    expect(args).not.toContain('requests==2.31.0');
    expect(args).not.toContain('../libs/other');
  });

  it('is exactly the expected list', () => {
    expect(args).toEqual([
      `pyinstaller==${PYINSTALLER_VERSION}`,
      'pyjwt>=2.8,<3.0',
      'grpcio[protobuf]>=1.60,<2.0',
      '-r',
      'requirements.txt',
      '-e',
      '../libs/graphton',
      '--config-settings',
      'editable_mode=compat',
    ]);
  });

  it('installs only PyInstaller for a service that declares nothing', () => {
    expect(managedInstallArgs(readPythonProject(() => undefined))).toEqual([`pyinstaller==${PYINSTALLER_VERSION}`]);
  });
});

describe('managedVenvDir', () => {
  it('lives in <workspace>/.stigmer/venvs, with a file-system-safe project name', () => {
    const ref = { name: '@acme/agent runner', root: 'apps/agent-runner', absRoot: '/ws/apps/agent-runner', workspaceRoot: '/ws' };
    expect(managedVenvDir(ref)).toBe(path.join('/ws', '.stigmer', 'venvs', '_acme_agent_runner'));
  });
});

describe('pinSourceOf', () => {
  const read = (files: Record<string, string>) => (file: string) => files[file];
  const poetryProject = { 'pyproject.toml': '[tool.poetry]\nname = "a"\n[tool.poetry.dependencies]\npython = "^3.11"\nsix = "^1.15"\n' };
  const pep621 = { 'pyproject.toml': '[project]\nname = "a"\nversion = "0.1.0"\ndependencies = ["six>=1.15"]\n' };
  const sourceOf = (files: Record<string, string>) => pinSourceOf(readPythonProject(read(files)), read(files));

  it('installs from poetry.lock or uv.lock when the service has one', () => {
    expect(sourceOf({ ...poetryProject, 'poetry.lock': '' })).toBe('poetry.lock');
    expect(sourceOf({ ...pep621, 'uv.lock': '' })).toBe('uv.lock');
  });

  it('takes a requirements file that pins every line as the lock', () => {
    expect(sourceOf({ 'requirements.txt': 'six==1.16.0\nidna==3.7\n' })).toBe('requirements');
    expect(sourceOf({ 'requirements.txt': 'six>=1.15\n' })).toBe('unpinned');
  });

  it('calls ranges in pyproject.toml unpinned, and says how to pin them in one line', () => {
    expect(sourceOf(pep621)).toBe('unpinned');
    const ref = { name: 'api', root: 'apps/api', absRoot: '/ws/apps/api', workspaceRoot: '/ws' };
    const notice = unpinnedNotice(ref, readPythonProject(read(poetryProject)));
    expect(notice).toMatch(/not pinned.*"poetry lock" in apps\/api/);
    expect(notice).not.toContain('\n');
    expect(unpinnedNotice(ref, readPythonProject(read(pep621)))).toMatch(/"uv lock"/);
    expect(unpinnedNotice(ref, readPythonProject(() => undefined))).toBeUndefined();
  });
});
