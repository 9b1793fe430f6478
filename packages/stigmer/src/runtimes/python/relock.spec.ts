import { poetryMajorVersion, relockCommand } from './relock';

describe('relockCommand', () => {
  it('keeps locked versions: plain `poetry lock` on Poetry 2, --no-update on Poetry 1', () => {
    expect(relockCommand('poetry.lock', 2)).toEqual(['poetry', 'lock']);
    expect(relockCommand('poetry.lock', 1)).toEqual(['poetry', 'lock', '--no-update']);
    expect(relockCommand('poetry.lock')).toEqual(['poetry', 'lock']);
    expect(relockCommand('uv.lock')).toEqual(['uv', 'lock']);
  });

  it("reads Poetry's major version", () => {
    expect(poetryMajorVersion('Poetry (version 2.5.1)')).toBe(2);
    expect(poetryMajorVersion('Poetry (version 1.8.5)')).toBe(1);
    expect(poetryMajorVersion(undefined)).toBeUndefined();
  });
});
