import { spawnSync } from 'node:child_process';
import * as os from 'node:os';
import * as path from 'node:path';
import * as fs from 'fs-extra';
import { pythonOptionCommand, resolveKeyInterpreter, shellQuote, toolchainKey, toolchainKeyCommand } from './toolchain-key';

describe('shellQuote', () => {
  it('leaves plain words alone and single-quotes the rest, so the shell gives back the same word', () => {
    expect(shellQuote('apps/api')).toBe('apps/api');
    const words = ['/opt/my python/bin/python3', "it's", 'a"b$c`d\\e', 'apps\\api', ''];
    for (const word of words) {
      const echoed = spawnSync('/bin/sh', ['-c', `printf '%s' ${shellQuote(word)}`], { encoding: 'utf8' });
      expect(echoed.stdout).toBe(word);
    }
  });
});

describe('toolchain key', () => {
  let dir: string;
  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'stigmer key '));
  });
  afterAll(() => fs.removeSync(dir));

  it('uses the python option first, even when its path has a space', () => {
    const fake = path.join(dir, 'my python');
    fs.writeFileSync(fake, '#!/bin/sh\necho 3.99.1 linux fakearch\n', { mode: 0o755 });
    expect(resolveKeyInterpreter(dir, fake)).toEqual({ kind: 'interpreter', python: fake });
    expect(toolchainKey(dir, fake)).toMatch(/^3\.99\.1 linux fakearch interpreter stigmer \d+\.\d+\.\d+$/);
  });

  it('says when the interpreter does not run, so the key still differs from a working one', () => {
    expect(toolchainKey(dir, path.join(dir, 'missing'))).toMatch(/^no .*missing interpreter stigmer/);
  });

  it('falls back to python3 without a lock', () => {
    expect(resolveKeyInterpreter(dir)).toEqual({ kind: 'managed', python: 'python3' });
  });

  it("takes a uv workspace member's environment from the workspace root's uv.lock and .venv", () => {
    const ws = path.join(dir, 'uv ws');
    fs.outputFileSync(path.join(ws, 'pyproject.toml'), '[tool.uv.workspace]\nmembers = ["apps/*"]\n');
    fs.outputFileSync(path.join(ws, 'uv.lock'), 'version = 1\n');
    fs.outputFileSync(path.join(ws, 'apps', 'svc', 'pyproject.toml'), '[project]\nname = "svc"\nversion = "0.1.0"\n');
    const venvPython = path.join(ws, '.venv', 'bin', 'python');
    fs.outputFileSync(venvPython, '#!/bin/sh\necho 3.98.0 linux fakearch\n', { mode: 0o755 });
    const bin = path.join(dir, 'uv-bin');
    fs.outputFileSync(path.join(bin, 'uv'), '#!/bin/sh\nexit 1\n', { mode: 0o755 });
    const savedPath = process.env.PATH;
    try {
      process.env.PATH = path.join(dir, 'empty-bin'); // no uv on PATH
      expect(resolveKeyInterpreter(path.join(ws, 'apps', 'svc'), undefined, ws)).toEqual({ kind: 'managed', python: 'python3' });
      process.env.PATH = `${bin}${path.delimiter}${savedPath}`;
      expect(resolveKeyInterpreter(path.join(ws, 'apps', 'svc'), undefined, ws)).toEqual({ kind: 'uv', python: venvPython });
      // Not a member (outside the members globs): not pinned by that lock.
      fs.outputFileSync(path.join(ws, 'tools', 'other', 'pyproject.toml'), '[project]\nname = "other"\n');
      expect(resolveKeyInterpreter(path.join(ws, 'tools', 'other'), undefined, ws).kind).toBe('managed');
    } finally {
      process.env.PATH = savedPath;
    }
  });

  it('follows the environment option: managed over a python option, interpreter with it, uv asked for', () => {
    const fake = path.join(dir, 'my python');
    expect(resolveKeyInterpreter(dir, { python: fake, environment: 'managed' })).toEqual({ kind: 'managed', python: 'python3' });
    expect(resolveKeyInterpreter(dir, { python: fake, environment: 'interpreter' })).toEqual({ kind: 'interpreter', python: fake });
    expect(resolveKeyInterpreter(dir, { environment: 'auto' })).toEqual({ kind: 'managed', python: 'python3' });
  });

  it("puts an explicit interpreter's installed distributions in the key (the build installs nothing there)", () => {
    const site = path.join(dir, 'site');
    const saved = process.env.PYTHONPATH;
    try {
      process.env.PYTHONPATH = site;
      fs.ensureDirSync(site);
      const before = toolchainKey(dir, 'python3');
      expect(before).toMatch(/^\d+\.\d+\.\d+ \w+ \S+ packages [0-9a-f]{16} interpreter stigmer /);
      fs.outputFileSync(path.join(site, 'extra_dist-1.0.dist-info', 'METADATA'), 'Metadata-Version: 2.1\nName: extra-dist\nVersion: 1.0\n');
      const after = toolchainKey(dir, 'python3');
      expect(after).not.toBe(before);
      expect(toolchainKey(dir, 'python3')).toBe(after); // stable while nothing changes
    } finally {
      if (saved === undefined) delete process.env.PYTHONPATH;
      else process.env.PYTHONPATH = saved;
    }
  });

  it("before Poetry's environment exists, resolves the interpreter Poetry would create it from, not python3", () => {
    const project = path.join(dir, 'poetry svc');
    fs.outputFileSync(path.join(project, 'pyproject.toml'), '[project]\nname = "svc"\nversion = "0.1.0"\nrequires-python = ">=3.12"\n');
    fs.outputFileSync(path.join(project, 'poetry.lock'), '');
    const bin = path.join(dir, 'poetry-bin');
    // A Poetry with no environment for the project yet, and the default virtualenvs.use-poetry-python = false.
    fs.outputFileSync(path.join(bin, 'poetry'), '#!/bin/sh\nif [ "$1" = config ]; then echo false; exit 0; fi\nexit 1\n', { mode: 0o755 });
    fs.outputFileSync(path.join(bin, 'python3'), '#!/bin/sh\necho 3.11.9\n', { mode: 0o755 });
    fs.outputFileSync(path.join(bin, 'python3.13'), '#!/bin/sh\necho 3.13.1\n', { mode: 0o755 });
    fs.outputFileSync(path.join(bin, 'python3.12'), '#!/bin/sh\necho 3.12.4\n', { mode: 0o755 });
    const savedPath = process.env.PATH;
    try {
      process.env.PATH = bin;
      // python3 (3.11) does not satisfy >=3.12: Poetry takes the newest compatible python3.N.
      expect(resolveKeyInterpreter(project)).toEqual({ kind: 'poetry', python: 'python3.13' });
      fs.outputFileSync(path.join(project, 'pyproject.toml'), '[project]\nname = "svc"\nversion = "0.1.0"\nrequires-python = ">=3.9"\n');
      expect(resolveKeyInterpreter(project)).toEqual({ kind: 'poetry', python: 'python3' });
    } finally {
      process.env.PATH = savedPath;
    }
  });

  it('builds a shell command whose arguments survive a space in the path', () => {
    const command = toolchainKeyCommand('apps/my api', '/opt/py 3/bin/python');
    expect(command).toMatch(/^node \S*toolchain-key\.js 'apps\/my api' '\/opt\/py 3\/bin\/python'$/);
  });
});

describe('shellQuote for cmd.exe', () => {
  it('double-quotes words with spaces on Windows', () => {
    expect(shellQuote('C:\\Program Files\\Python312\\python.exe', 'win32')).toBe('"C:\\Program Files\\Python312\\python.exe"');
    expect(shellQuote('apps\\api', 'win32')).toBe('apps\\api');
  });
});

describe('pythonOptionCommand', () => {
  it('makes a path relative to the workspace root absolute, and leaves a bare name to PATH', () => {
    const root = path.join(path.sep, 'ws');
    expect(pythonOptionCommand('tools/py/bin/python', root)).toBe(path.join(root, 'tools', 'py', 'bin', 'python'));
    expect(pythonOptionCommand('./.venv/bin/python', root)).toBe(path.join(root, '.venv', 'bin', 'python'));
    expect(pythonOptionCommand(path.join(path.sep, 'opt', 'py', 'bin', 'python3'), root)).toBe(path.join(path.sep, 'opt', 'py', 'bin', 'python3'));
    expect(pythonOptionCommand('python3.12', root)).toBe('python3.12');
  });

  it('resolves a relative python option in the key from the workspace root, where Nx runs it, not from the project', () => {
    const workspace = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'stigmer-ws-')));
    const project = path.join(workspace, 'apps', 'api');
    const cwd = process.cwd();
    try {
      process.chdir(workspace);
      expect(resolveKeyInterpreter(project, 'tools/py/bin/python')).toEqual({ kind: 'interpreter', python: path.join(workspace, 'tools', 'py', 'bin', 'python') });
    } finally {
      process.chdir(cwd);
      fs.removeSync(workspace);
    }
  });
});
