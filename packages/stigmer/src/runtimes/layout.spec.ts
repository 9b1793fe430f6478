import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { RUNTIMES } from './index';

/**
 * Everything language-specific lives in runtimes/<lang>/, behind BinaryRuntime: adding a runtime is one folder
 * and one line in runtimes/index.ts. This reads every source file outside those folders (tests and comments
 * aside) and fails on an import of a runtime folder or a word that names a language or its tools.
 */
const SRC = path.join(__dirname, '..');
const LANGUAGE_WORDS =
  /\b(python\d*|pyinstaller|pyproject|poetry|uv\.lock|pip|pythonpath|pythonhome|virtual_env|egg-info|__pycache__|node_modules|node_path|node_options|esbuild|postject|bun|sea\.json|golang|go\.mod|go\.sum|go\.work|cgo|goos|goarch)\b/i;
const RUNTIME_IMPORT = new RegExp(`from '[./]*(runtimes/)?(${RUNTIMES.map((r) => r.id).join('|')})(/[^']*)?'`);

/** Known places still to move, each with why it is still there: the list only shrinks. */
const NOT_YET_MOVED: Record<string, RegExp> = {};

/** Words that name no language where they stand, each with why. */
const NOT_A_LANGUAGE: Record<string, RegExp> = {
  // The $schema of the nx.json that init creates is where Nx itself is installed (as `nx init` writes it).
  'generators/init/generator.ts': /node_modules/,
};

function sources(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const file = path.join(dir, entry.name);
    if (entry.isDirectory()) return sources(file);
    return entry.name.endsWith('.ts') && !entry.name.endsWith('.spec.ts') && !entry.name.endsWith('.d.ts') ? [file] : [];
  });
}

/** Code without comments (string contents stay: an error message naming Python is a language named). */
function code(text: string): string {
  return text.replace(/\/\*[\s\S]*?\*\//g, '').replace(/(^|[^:'"`\\])\/\/.*$/gm, '$1');
}

describe('runtime layout', () => {
  const runtimeFolders = RUNTIMES.map((r) => `runtimes${path.sep}${r.id}${path.sep}`);
  const outside = sources(SRC).filter((file) => !runtimeFolders.some((folder) => path.relative(SRC, file).startsWith(folder)));

  it('finds the files it checks and the runtime folders', () => {
    expect(outside.map((f) => path.relative(SRC, f).split(path.sep).join('/'))).toEqual(expect.arrayContaining(['core/build.ts', 'core/test.ts', 'plugins/plugin.ts', 'plugins/dependencies.ts', 'generators/init/generator.ts']));
    for (const runtime of RUNTIMES) expect(fs.existsSync(path.join(SRC, 'runtimes', runtime.id, 'index.ts'))).toBe(true);
  });

  it('no file outside runtimes/<lang>/ imports a runtime folder or names a language (runtimes/index.ts registers them)', () => {
    const offences: string[] = [];
    for (const file of outside) {
      const relative = path.relative(SRC, file).split(path.sep).join('/');
      code(fs.readFileSync(file, 'utf8'))
        .split('\n')
        .forEach((line, i) => {
          if (relative === 'runtimes/index.ts' && /^import \{ \w+Runtime \} from '\.\/\w+';$/.test(line.trim())) return;
          const allowed = NOT_YET_MOVED[relative] ?? NOT_A_LANGUAGE[relative];
          const words = line.match(new RegExp(LANGUAGE_WORDS.source, 'gi')) ?? [];
          if (RUNTIME_IMPORT.test(line) || words.some((word) => !allowed?.test(word))) offences.push(`${relative}:${i + 1}: ${line.trim()}`);
        });
    }
    expect(offences).toEqual([]);
  });

  it('would catch one: a language word or a runtime import in a core file', () => {
    expect(LANGUAGE_WORDS.test(code("const lock = 'poetry.lock';"))).toBe(true);
    expect(LANGUAGE_WORDS.test(code('// PYTHONPATH is a comment here'))).toBe(false);
    expect(RUNTIME_IMPORT.test("import { x } from '../runtimes/python/toml';")).toBe(true);
    expect(RUNTIME_IMPORT.test("import { x } from '../runtimes';")).toBe(false);
  });

  it('a node_modules above the smoke folder concerns only the runtime whose binaries could load from it', () => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'stigmer-isolation-'));
    try {
      fs.mkdirSync(path.join(root, 'node_modules'));
      fs.mkdirSync(path.join(root, 'smoke'));
      const problems = Object.fromEntries(RUNTIMES.map((r) => [r.id, r.smokeIsolationProblem?.(path.join(root, 'smoke'))]));
      expect(problems.node).toMatch(/node_modules is within reach of the smoke run's folder/);
      expect(problems.python).toBeUndefined();
      expect(problems.go).toBeUndefined();
    } finally {
      fs.rmSync(root, { recursive: true, force: true });
    }
  });
});
