import { spawnSync } from 'node:child_process';
import * as os from 'node:os';
import * as path from 'node:path';
import * as fs from 'fs-extra';
import { probeInterpreter, probeStampFile } from './interpreter-probe';

/**
 * The probe's stamp on a real venv (python3 -m venv) holding a stand-in PyInstaller package: the stamp is taken
 * while nothing changed, and never once a distribution was installed, upgraded or removed, or the venv remade.
 */
describe('probeInterpreter (real python3 venv)', () => {
  let root: string;
  let python: string;
  let sitePackages: string;

  const setVersion = (version: string) => fs.outputFileSync(path.join(sitePackages, 'PyInstaller', '__init__.py'), `__version__ = '${version}'\n`);

  beforeAll(() => {
    root = fs.mkdtempSync(path.join(os.tmpdir(), 'stigmer-probe-'));
    const venv = path.join(root, 'venv');
    expect(spawnSync('python3', ['-m', 'venv', '--without-pip', venv]).status).toBe(0);
    python = path.join(venv, 'bin', 'python');
    const purelib = spawnSync(python, ['-c', 'import sysconfig; print(sysconfig.get_paths()["purelib"])'], { encoding: 'utf8' });
    sitePackages = purelib.stdout.trim();
    setVersion('6.22.3');
    fs.ensureDirSync(path.join(sitePackages, 'pyinstaller-6.22.3.dist-info'));
  });

  afterAll(() => fs.removeSync(root));

  it('probes once, then answers from the stamp while the venv is unchanged', async () => {
    const first = await probeInterpreter(python, root);
    expect(first).toMatchObject({ ran: true, fromStamp: false, facts: { pyinstaller: '6.22.3' } });
    expect(first.ran && first.facts.sitePackages).toContain(sitePackages);
    expect(fs.existsSync(probeStampFile(root, python))).toBe(true);
    // A file changed inside a package, no distribution added or removed: the stamp stands (and says the old facts).
    setVersion('6.22.3-edited-in-place');
    expect(await probeInterpreter(python, root)).toMatchObject({ ran: true, fromStamp: true, facts: { pyinstaller: '6.22.3' } });
  });

  it('probes again when a package was installed by hand', async () => {
    fs.ensureDirSync(path.join(sitePackages, 'requests-2.32.0.dist-info'));
    expect(await probeInterpreter(python, root)).toMatchObject({ fromStamp: false, facts: { pyinstaller: '6.22.3-edited-in-place' } });
    expect(await probeInterpreter(python, root)).toMatchObject({ fromStamp: true });
  });

  it('probes again when PyInstaller was upgraded or removed', async () => {
    setVersion('6.23.0');
    fs.moveSync(path.join(sitePackages, 'pyinstaller-6.22.3.dist-info'), path.join(sitePackages, 'pyinstaller-6.23.0.dist-info'));
    expect(await probeInterpreter(python, root)).toMatchObject({ fromStamp: false, facts: { pyinstaller: '6.23.0' } });
    fs.removeSync(path.join(sitePackages, 'PyInstaller'));
    const gone = await probeInterpreter(python, root);
    expect(gone).toMatchObject({ ran: true, fromStamp: false });
    expect(gone.ran && gone.facts.pyinstaller).toBeUndefined();
    // No stamp without PyInstaller: the next build probes (and fails) again.
    expect(fs.existsSync(probeStampFile(root, python))).toBe(false);
  });

  it('probes again when the interpreter or pyvenv.cfg changed', async () => {
    setVersion('6.22.3');
    await probeInterpreter(python, root);
    expect(await probeInterpreter(python, root)).toMatchObject({ fromStamp: true });
    const cfg = path.join(path.dirname(path.dirname(python)), 'pyvenv.cfg');
    fs.appendFileSync(cfg, 'prompt = other\n');
    expect(await probeInterpreter(python, root)).toMatchObject({ fromStamp: false });
    // The venv's interpreter now resolves to another file (as after a Python upgrade behind the symlink).
    const real = fs.realpathSync(python);
    fs.copyFileSync(real, path.join(root, 'python-copy'));
    fs.removeSync(python);
    fs.symlinkSync(path.join(root, 'python-copy'), python);
    expect(await probeInterpreter(python, root)).toMatchObject({ fromStamp: false });
  });

  it('never stamps an interpreter outside a venv', async () => {
    const probed = await probeInterpreter('python3', root);
    expect(probed).toMatchObject({ ran: true, fromStamp: false });
    expect(fs.existsSync(probeStampFile(root, 'python3'))).toBe(false);
    expect(await probeInterpreter(path.join(root, 'missing', 'bin', 'python'), root)).toEqual({ ran: false });
  });
});
