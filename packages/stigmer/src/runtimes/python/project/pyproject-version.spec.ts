import { readPyprojectVersion, writePyprojectVersion } from './pyproject-version';

describe('pyproject.toml version (nx release)', () => {
  it('bumps [project].version keeping comments, quotes and layout', () => {
    const text = '# the service\n[project]\nname = "svc"   # its name\nversion = "1.1.0"  # bumped by nx release\ndependencies = []\n\n[tool.other]\nversion = "9"\n';
    expect(readPyprojectVersion(text)).toBe('1.1.0');
    expect(writePyprojectVersion(text, '1.1.1')).toBe(text.replace('version = "1.1.0"', 'version = "1.1.1"'));
  });

  it("bumps Poetry's [tool.poetry].version, single quotes and CRLF kept", () => {
    const text = "[tool.poetry]\r\nname = 'svc'\r\nversion = '0.3.0'\r\n\r\n[tool.poetry.dependencies]\r\npython = '^3.11'\r\n";
    expect(readPyprojectVersion(text)).toBe('0.3.0');
    expect(writePyprojectVersion(text, '0.4.0')).toBe(text.replace("'0.3.0'", "'0.4.0'"));
  });

  it('refuses a file without a static version in one line', () => {
    expect(() => writePyprojectVersion('[project]\nname = "svc"\ndynamic = ["version"]\n', '1.0.0')).toThrow(/declares no version \(\[project\]\.version or \[tool\.poetry\]\.version\): add version = "0\.1\.0"/);
  });
});
