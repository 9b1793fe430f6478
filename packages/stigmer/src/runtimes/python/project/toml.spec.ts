import { parse } from 'smol-toml';
import { appendTable, appendToArray, insertIntoTable, parseToml, splitKey, verifyEdit } from './toml';

describe('parseToml', () => {
  it('parses TOML', () => {
    expect(parseToml('[a]\nb = 1\n', 'x.toml')).toEqual({ a: { b: 1 } });
  });

  it('names the file and the reason, on one line, when the TOML is invalid', () => {
    let message = '';
    try {
      parseToml('[a\nb = ', 'apps/x/pyproject.toml');
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).toMatch(/^apps\/x\/pyproject\.toml is not valid TOML \(.+\): fix it and run again\.$/);
    expect(message).not.toContain('\n');
  });
});

describe('splitKey', () => {
  it.each([
    ['tool.poetry.group.dev.dependencies', ['tool', 'poetry', 'group', 'dev', 'dependencies']],
    ['tool.poetry."group".dev', ['tool', 'poetry', 'group', 'dev']],
    [' tool . poetry ', ['tool', 'poetry']],
    ['"a.b".c', ['a.b', 'c']],
    ["'lit.eral'.x", ['lit.eral', 'x']],
    ['dependency-groups', ['dependency-groups']],
  ])('%s -> %p', (key, expected) => {
    expect(splitKey(key)).toEqual(expected);
  });
});

describe('insertIntoTable', () => {
  it('adds the entry after the last entry of the table, before trailing blank lines and the next table', () => {
    const text = '[a]\nx = 1\n\n[b]  # comment\ny = 2  # two\n# trailing comment\n\n[c]\nz = 3\n';
    const result = insertIntoTable(text, ['b'], 'new = 4');
    expect(result).toBe('[a]\nx = 1\n\n[b]  # comment\ny = 2  # two\nnew = 4\n# trailing comment\n\n[c]\nz = 3\n');
  });

  it('adds into an empty table right after its header', () => {
    expect(insertIntoTable('[a]\n\n[b]\n', ['a'], 'k = 1')).toBe('[a]\nk = 1\n\n[b]\n');
  });

  it('recognises quoted and spaced headers', () => {
    expect(insertIntoTable('[ tool . "poetry" ]\nname = "x"\n', ['tool', 'poetry'], 'k = 1')).toBe('[ tool . "poetry" ]\nname = "x"\nk = 1\n');
  });

  it('returns undefined when the table does not exist', () => {
    expect(insertIntoTable('[a]\nx = 1\n', ['b'], 'k = 1')).toBeUndefined();
    // a header inside a multi-line string or a multi-line array is no header
    expect(insertIntoTable('[a]\ns = """\n[b]\n"""\n', ['b'], 'k = 1')).toBeUndefined();
    expect(insertIntoTable("[a]\ns = '''\n[b]\n'''\n", ['b'], 'k = 1')).toBeUndefined();
    expect(insertIntoTable('[a]\nm = [\n[b]\n]\n', ['b'], 'k = 1')).toBeUndefined();
  });

  it('keeps CRLF line endings and a missing final newline', () => {
    expect(insertIntoTable('[a]\r\nx = 1\r\n\r\n[b]\r\n', ['a'], 'k = 1')).toBe('[a]\r\nx = 1\r\nk = 1\r\n\r\n[b]\r\n');
    expect(insertIntoTable('[a]\nx = 1', ['a'], 'k = 1')).toBe('[a]\nx = 1\nk = 1');
    expect(insertIntoTable('[a]\r\nx = 1', ['a'], 'k = 1')).toBe('[a]\r\nx = 1\r\nk = 1');
  });

  it('goes after a multi-line value, not inside it', () => {
    const text = '[a]\nx = [\n  1,\n  2,\n]\n\n[b]\n';
    const result = insertIntoTable(text, ['a'], 'k = 1') as string;
    expect(parse(result)).toEqual({ a: { x: [1, 2], k: 1 }, b: {} });
  });
});

describe('appendTable', () => {
  it('appends a table after a blank line', () => {
    expect(appendTable('[a]\nx = 1\n', '[b]', ['y = 2'])).toBe('[a]\nx = 1\n\n[b]\ny = 2\n');
  });

  it('adds no second blank line', () => {
    expect(appendTable('[a]\nx = 1\n\n', '[b]', ['y = 2'])).toBe('[a]\nx = 1\n\n[b]\ny = 2\n');
  });

  it('keeps CRLF endings and a missing final newline', () => {
    expect(appendTable('[a]\r\nx = 1\r\n', '[b]', ['y = 2', 'z = 3'])).toBe('[a]\r\nx = 1\r\n\r\n[b]\r\ny = 2\r\nz = 3\r\n');
    expect(appendTable('[a]\nx = 1', '[b]', ['y = 2'])).toBe('[a]\nx = 1\n\n[b]\ny = 2');
  });

  it('writes an empty file as just the table', () => {
    expect(appendTable('', '[b]', ['y = 2'])).toBe('[b]\ny = 2\n');
  });
});

describe('appendToArray', () => {
  it('appends to a single-line array', () => {
    expect(appendToArray('[g]\ndev = ["a"]\n', ['g'], 'dev', '"b"')).toBe('[g]\ndev = ["a", "b"]\n');
    expect(appendToArray('[g]\ndev = []\n', ['g'], 'dev', '"b"')).toBe('[g]\ndev = ["b"]\n');
    expect(appendToArray('[g]\ndev = ["a", ]  # c\n', ['g'], 'dev', '"b"')).toBe('[g]\ndev = ["a", "b"]  # c\n');
  });

  it('appends to a multi-line array on a new line with the items indentation', () => {
    const text = '[g]\ndev = [\n    "a",  # first ]\n    "b[x]>=1"\n]\nother = 1\n';
    expect(appendToArray(text, ['g'], 'dev', '"c"')).toBe('[g]\ndev = [\n    "a",  # first ]\n    "b[x]>=1",\n    "c",\n]\nother = 1\n');
  });

  it('appends before a closing bracket that shares the last item line', () => {
    expect(appendToArray('[g]\ndev = [\n  "a",\n  "b"]\n', ['g'], 'dev', '"c"')).toBe('[g]\ndev = [\n  "a",\n  "b", "c"]\n');
  });

  it('returns undefined when the table or the key does not exist', () => {
    expect(appendToArray('[g]\ndev = ["a"]\n', ['h'], 'dev', '"b"')).toBeUndefined();
    expect(appendToArray('[g]\ntest = ["a"]\n', ['g'], 'dev', '"b"')).toBeUndefined();
    // a key of the same name in a later table is not the one asked for
    expect(appendToArray('[g]\nx = 1\n[h]\ndev = ["a"]\n', ['g'], 'dev', '"b"')).toBeUndefined();
  });
});

describe('verifyEdit', () => {
  it('returns the edited text when it is exactly the intended change', () => {
    expect(verifyEdit('[a]\nx = 1\n', '[a]\nx = 1\ny = 2\n', (d) => (d.a.y = 2))).toBe('[a]\nx = 1\ny = 2\n');
  });

  it('throws when anything else changed, or the result is not TOML', () => {
    expect(() => verifyEdit('[a]\nx = 1\n', '[a]\nx = 3\ny = 2\n', (d) => (d.a.y = 2))).toThrow(/by hand/);
    expect(() => verifyEdit('[a]\nx = 1\n', '[a]\nx = 1\ny = \n', (d) => (d.a.y = 2))).toThrow(/by hand/);
  });
});
