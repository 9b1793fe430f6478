import { logger, readNxJson, Tree } from '@nx/devkit';
import { stringify } from 'yaml';
import { CiStep, RUNTIMES } from '../../runtimes';
import { treeFiles } from '../../utils/workspace-files';

export type Platform = 'linux-x64' | 'linux-arm64' | 'macos-arm64' | 'windows-x64';

export interface CiWorkflowOptions {
  name?: string;
  platforms?: Platform[];
  mainBranch?: string;
  nodeVersion?: string;
  remoteCache?: boolean;
  /** Publish on version tags (v1.2.0 for every service, or nx release's <project>@1.2.0 for one). */
  publish?: boolean;
  force?: boolean;
  /** The runtimes' own options (their `ciSetup.options`, e.g. a toolchain version). */
  [runtimeOption: string]: unknown;
}

/** GitHub-hosted runners per platform. Not every runtime cross-compiles: one build per OS/arch. */
export const RUNNERS: Record<Platform, string> = {
  'linux-x64': 'ubuntu-24.04',
  'linux-arm64': 'ubuntu-24.04-arm',
  'macos-arm64': 'macos-14',
  'windows-x64': 'windows-2022',
};

/** `nx g stigmer:ci-workflow`: CI that builds only what changed, on every platform, and keeps the artifacts. */
export async function ciWorkflowGenerator(tree: Tree, options: CiWorkflowOptions = {}): Promise<void> {
  const file = `.github/workflows/${options.name ?? 'stigmer-binaries'}.yml`;
  const content = renderWorkflow({ ...options, mainBranch: options.mainBranch ?? readNxJson(tree)?.defaultBase ?? 'main' }, runtimeSetupSteps(tree, options));
  const existing = tree.exists(file) ? tree.read(file, 'utf-8') : undefined;
  if (existing === content) return;
  if (existing !== undefined && !options.force) {
    logger.warn(`stigmer: ${file} exists: kept it (run again with --force to overwrite it).`);
    return;
  }
  tree.write(file, content);
}

/** Option values that reach the workflow's text must be plain: an expression there would run on the runner. */
function plainValue(option: string, value: unknown): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string') throw new Error(`stigmer: ci-workflow: --${option} must be a string, not ${JSON.stringify(value)}`);
  if (value.includes('${{')) throw new Error(`stigmer: ci-workflow: --${option} must be a plain value, not a GitHub expression: ${value}`);
  return value;
}

/** The toolchain setup of every runtime the workspace has projects of, with the options each reads. */
function runtimeSetupSteps(tree: Tree, options: CiWorkflowOptions): CiStep[] {
  const files = treeFiles(tree);
  return RUNTIMES.flatMap((runtime) => {
    const setup = runtime.ciSetup;
    const projectFiles = runtime.projectDetection?.treeProjectFiles(files) ?? [];
    if (!setup || !projectFiles.length) return [];
    return setup.steps(Object.fromEntries(setup.options.map((option) => [option, plainValue(option, options[option])])), projectFiles, files);
  });
}

export function renderWorkflow(options: CiWorkflowOptions & { mainBranch: string }, runtimeSetup: CiStep[] = []): string {
  const platforms = options.platforms?.length ? options.platforms : (Object.keys(RUNNERS) as Platform[]);
  // The build jobs set up the runtimes' toolchains too; the jobs that only ask Nx need Node alone.
  const setup = (withRuntimes: boolean) => [
    { uses: 'actions/setup-node@v4', with: { 'node-version': options.nodeVersion ?? '20', cache: 'npm' } },
    ...(withRuntimes ? runtimeSetup : []),
    { run: 'npm ci' },
  ];
  plainValue('mainBranch', options.mainBranch);
  plainValue('nodeVersion', options.nodeVersion);
  // Values from the matrix (project names can come from a pyproject.toml) reach the shell only through env
  // and always double-quoted: an expression inside `run:` would be pasted into the script before bash parses it.
  const projectEnv = { PROJECT: '${{ matrix.project }}' };
  const remoteCacheEnv = options.remoteCache
    ? {
        NX_SELF_HOSTED_REMOTE_CACHE_SERVER: '${{ vars.NX_SELF_HOSTED_REMOTE_CACHE_SERVER }}',
        NX_SELF_HOSTED_REMOTE_CACHE_ACCESS_TOKEN: '${{ secrets.NX_SELF_HOSTED_REMOTE_CACHE_ACCESS_TOKEN }}',
      }
    : {};
  const matrix = (projects: string) => ({
    'fail-fast': false,
    matrix: {
      project: `\${{ fromJSON(${projects}) }}`,
      platform: platforms,
      include: platforms.map((platform) => ({ platform, runner: RUNNERS[platform] })),
    },
  });
  const workflow = {
    name: 'Binaries',
    on: { push: { branches: [options.mainBranch], ...(options.publish ? { tags: ['v*', '*@*'] } : {}) }, pull_request: {} },
    // actions: read lets nx-set-shas find the last successful run of this workflow on the main branch.
    permissions: { actions: 'read', contents: 'read' },
    concurrency: { group: 'binaries-${{ github.ref }}', 'cancel-in-progress': true },
    // One shell on every runner (Windows included), so the quoting below means the same everywhere.
    defaults: { run: { shell: 'bash' } },
    jobs: {
      affected: {
        name: 'Affected binaries',
        ...(options.publish ? { if: "github.ref_type != 'tag'" } : {}),
        'runs-on': 'ubuntu-24.04',
        outputs: { projects: '${{ steps.affected.outputs.projects }}' },
        steps: [
          // The whole history: the base of "affected" is the last successful commit on the main branch.
          { uses: 'actions/checkout@v4', with: { 'fetch-depth': 0 } },
          ...setup(false),
          { uses: 'nrwl/nx-set-shas@v4', with: { 'main-branch-name': options.mainBranch } },
          {
            id: 'affected',
            name: 'Projects whose binary changed',
            run: 'echo "projects=$(npx nx show projects --affected -t build-binary --base="$NX_BASE" --head="$NX_HEAD" --json)" >> "$GITHUB_OUTPUT"',
          },
        ],
      },
      binaries: {
        name: '${{ matrix.project }} on ${{ matrix.platform }}',
        needs: 'affected',
        if: "needs.affected.outputs.projects != '[]'",
        strategy: matrix('needs.affected.outputs.projects'),
        'runs-on': '${{ matrix.runner }}',
        steps: [
          { uses: 'actions/checkout@v4' },
          ...setup(true),
          { name: 'Build and test the binary', env: { ...projectEnv, ...remoteCacheEnv }, run: 'npx nx run "$PROJECT:test-binary"' },
          {
            name: 'Locate the outputs',
            env: projectEnv,
            run: 'echo "PROJECT_ROOT=$(npx nx show project "$PROJECT" --json | node -e "process.stdout.write(JSON.parse(require(\'fs\').readFileSync(0, \'utf8\')).root)")" >> "$GITHUB_ENV"',
          },
          {
            name: 'Upload the binary, its checksum and manifest',
            uses: 'actions/upload-artifact@v4',
            with: { name: '${{ matrix.project }}-${{ matrix.platform }}', path: '${{ env.PROJECT_ROOT }}/dist/*', 'if-no-files-found': 'error' },
          },
        ],
      },
      ...(options.publish ? publishJobs(setup, matrix) : {}),
    },
  };
  const header = [
    '# Generated by stigmer (nx g stigmer:ci-workflow): builds and tests only the binaries that changed,',
    '# on every platform of the matrix, and uploads each with its .sha256 and .manifest.json.',
    '# Trim the platforms with --platforms, or edit this file (the generator never overwrites it without --force).',
  ].join('\n');
  return `${header}\n${stringify(workflow, { lineWidth: 0 })}`;
}

/**
 * Publishing on a version tag: `<project>@<version>` (nx release's tag) publishes that project, `v<version>` every
 * service with publish-binary. One job per project and platform: each publishes the binary it built, and the
 * index's conditional write merges the jobs' platforms. Credentials and the signing key reach the step through
 * `env:` only; the tag's text reaches the shell through GITHUB_REF_NAME, never through an expression in `run:`.
 */
function publishJobs(setup: (withRuntimes: boolean) => object[], matrix: (projects: string) => object): Record<string, object> {
  return {
    publishable: {
      name: 'Services to publish',
      if: "github.ref_type == 'tag'",
      'runs-on': 'ubuntu-24.04',
      outputs: { projects: '${{ steps.publishable.outputs.projects }}' },
      steps: [
        { uses: 'actions/checkout@v4' },
        ...setup(false),
        {
          id: 'publishable',
          name: 'Projects the tag publishes',
          run: [
            'if [[ "$GITHUB_REF_NAME" == *@* ]]; then',
            '  projects="$(node -e \'process.stdout.write(JSON.stringify([process.argv[1]]))\' "${GITHUB_REF_NAME%@*}")"',
            'else',
            '  projects="$(npx nx show projects --with-target publish-binary --json)"',
            'fi',
            'echo "projects=$projects" >> "$GITHUB_OUTPUT"',
          ].join('\n'),
        },
      ],
    },
    publish: {
      name: 'Publish ${{ matrix.project }} for ${{ matrix.platform }}',
      needs: 'publishable',
      if: "needs.publishable.outputs.projects != '[]'",
      strategy: matrix('needs.publishable.outputs.projects'),
      'runs-on': '${{ matrix.runner }}',
      steps: [
        { uses: 'actions/checkout@v4' },
        ...setup(true),
        {
          name: 'Build, test and publish the binary',
          env: {
            PROJECT: '${{ matrix.project }}',
            AWS_ACCESS_KEY_ID: '${{ secrets.AWS_ACCESS_KEY_ID }}',
            AWS_SECRET_ACCESS_KEY: '${{ secrets.AWS_SECRET_ACCESS_KEY }}',
            AWS_REGION: '${{ vars.AWS_REGION }}',
            AWS_ENDPOINT_URL_S3: '${{ vars.AWS_ENDPOINT_URL_S3 }}',
            STIGMER_SIGNING_KEY: '${{ secrets.STIGMER_SIGNING_KEY }}',
          },
          // The tag's version must be the version the binary was built as.
          run: 'version="${GITHUB_REF_NAME##*@}"; version="${version#v}"; npx nx run "$PROJECT:publish-binary" --version="$version"',
        },
      ],
    },
  };
}

export default ciWorkflowGenerator;
