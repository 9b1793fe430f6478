import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { checkLine, gitIgnoreChecks, gitIgnoreVerdicts, gitPaths } from './test';

describe('git-ignore check: path logic', () => {
  describe('with Windows paths (path.win32)', () => {
    const project = { name: 'api', root: 'services\\api', absRoot: 'C:\\ws\\services\\api', workspaceRoot: 'C:\\ws' };
    const paths = ['C:\\ws\\services\\api\\dist\\api.exe', 'C:\\ws\\services\\api\\build\\api'];

    it('asks git with forward slashes', () => {
      expect(gitPaths(project.workspaceRoot, paths, path.win32)).toEqual(['services/api/dist/api.exe', 'services/api/build/api']);
    });

    it('matches what git answers, in either slash, and names the entry to add', () => {
      for (const answer of ['services/api/dist/api.exe\0', 'services\\api\\dist\\api.exe\0']) {
        const [dist, build] = gitIgnoreVerdicts(project, paths, answer, path.win32);
        expect(dist).toEqual({ name: 'git ignore', ok: true, detail: 'services/api/dist/api.exe is ignored' });
        expect(build.ok).toBe(false);
        expect(build.detail).toBe("services/api/build/api is not ignored by git: add 'build/' to services\\api\\.gitignore (nx g stigmer:binary-spec does it).");
      }
    });

    it('a drive letter in another case is the same folder', () => {
      expect(gitPaths('c:\\ws', paths, path.win32)).toEqual(['services/api/dist/api.exe', 'services/api/build/api']);
    });
  });

  it('with real git (--stdin -z): names with spaces, quotes and non-ASCII are matched, not quoted away', () => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'stigmer-gitignore-'));
    try {
      const rootRel = `services/odd dir "q" ü`;
      const absRoot = path.join(root, rootRel);
      fs.mkdirSync(path.join(absRoot, 'dist'), { recursive: true });
      fs.writeFileSync(path.join(absRoot, '.gitignore'), 'dist/\n');
      expect(spawnSync('git', ['init', '-q'], { cwd: root }).status).toBe(0);
      const paths = [path.join(absRoot, 'dist', 'odd ü'), path.join(absRoot, 'build', 'x')];
      const input = gitPaths(root, paths).map((rel) => `${rel}\0`).join('');
      const git = spawnSync('git', ['check-ignore', '--stdin', '-z', '--no-index'], { cwd: root, encoding: 'utf8', input });
      const verdicts = gitIgnoreVerdicts({ name: 'odd', root: rootRel, absRoot, workspaceRoot: root }, paths, git.stdout);
      expect(verdicts.map((v) => v.ok)).toEqual([true, false]);
    } finally {
      fs.rmSync(root, { recursive: true, force: true });
    }
  });
});

describe('git-ignore check outside a repository', () => {
  it('says "not checked" and why, never ✔', async () => {
    const workspace = fs.mkdtempSync(path.join(os.tmpdir(), 'stigmer-norepo-'));
    const saved = process.env.GIT_CEILING_DIRECTORIES;
    process.env.GIT_CEILING_DIRECTORIES = os.tmpdir(); // a repository above the temporary folder does not count
    try {
      const project = { name: 'api', root: 'api', absRoot: path.join(workspace, 'api'), workspaceRoot: workspace };
      const [check] = await gitIgnoreChecks(project, [path.join(workspace, 'api', 'dist', 'api')]);
      expect(check).toMatchObject({ name: 'git ignore', ok: true, notChecked: true });
      expect(checkLine(check)).toBe('  ○ git ignore: not checked: the workspace is not inside a git repository, so nothing shows that git ignores api/dist/api: once it is a repository, make sure its .gitignore ignores dist/ and build/.');
      expect(checkLine({ name: 'size', ok: true, detail: '1 MB' })).toBe('  ✔ size: 1 MB');
    } finally {
      if (saved === undefined) delete process.env.GIT_CEILING_DIRECTORIES;
      else process.env.GIT_CEILING_DIRECTORIES = saved;
      fs.rmSync(workspace, { recursive: true, force: true });
    }
  });
});
