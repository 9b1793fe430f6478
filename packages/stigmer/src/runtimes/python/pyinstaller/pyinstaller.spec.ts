import { pyInstallerError, unstrippedNotice } from './pyinstaller';

describe('pyInstallerError', () => {
  it("names the service's file and line for a syntax error in its code, not the spec", () => {
    const output = [
      '6624 INFO: Analyzing /ws/services/api/main.py',
      'Syntax error in /ws/services/api/main.py',
      '  File "/ws/services/api/main.py", line 2',
      '     print(1',
      '          ^',
      " SyntaxError: '(' was never closed",
    ].join('\n');
    expect(pyInstallerError(output, '/ws/services/api')).toBe("SyntaxError: '(' was never closed in main.py line 2: fix it and run again (the spec is fine).");
  });

  it('blames the spec for a syntax error in the spec', () => {
    const output = ['Traceback (most recent call last):', '  File "/ws/services/api/api.spec", line 40', '    pyz = PYZ(a.pure', 'SyntaxError: \'(\' was never closed'].join('\n');
    expect(pyInstallerError(output, '/ws/services/api')).toBe(`SyntaxError: '(' was never closed ("/ws/services/api/api.spec", line 40): fix the spec and run again.`);
  });

  it('points at the paths for a missing script', () => {
    expect(pyInstallerError('ERROR: script /ws/x/main.py does not exist')).toMatch(/check the paths in the spec/);
  });
});

describe('unstrippedNotice', () => {
  it('tells a missing strip from one that failed, naming a few libraries and the STRIP line', () => {
    expect(unstrippedNotice(['libpython3.11.so.1.0', '_ssl.so', 'zlib.so'], true, 'svc.spec')).toBe(
      'strip is not on PATH, so 3 libraries (libpython3.11.so.1.0, _ssl.so, ...) ship unstripped, bigger and slower to start: install binutils (the package with strip), or set STRIP = False in svc.spec.',
    );
    expect(unstrippedNotice(['odd.so'], false, 'svc.spec')).toBe("strip failed on 1 library (odd.so), which ships unstripped: run with --verbose for strip's output, or set STRIP = False in svc.spec.");
  });
});
