import type { TargetConfiguration } from '@nx/devkit';
import type { BinaryRuntime, RuntimeInputs, SpecInfo } from '../runtimes/types';

export interface StigmerPluginOptions {
  buildTargetName?: string;
  testTargetName?: string;
  cleanTargetName?: string;
  reportTargetName?: string;
  publishTargetName?: string;
  /**
   * Where and how publish-binary (and nx release publish) publish: `{ "store": "s3://bucket/prefix" }` plus any
   * other publish-binary option (endpoint, region, channel, expiresDays, publicKey). Target options in
   * project.json and command-line options override these.
   */
  publish?: Record<string, unknown>;
  /** Runtime options that decide the toolchain part of a cache key (an interpreter to build with, say). */
  [runtimeOption: string]: unknown;
}

/** The target `nx release publish` runs for each released project. */
export const RELEASE_PUBLISH_TARGET = 'nx-release-publish';

export interface TargetContext {
  projectRoot: string;
  /** Named input of dependency projects: '^production' where the workspace defines it, else '^default'. */
  dependencyInput: string;
  runtimeInputs: RuntimeInputs;
}

/**
 * The three targets of a service with a binary spec. A pure function of what the plugin read, so it is
 * tested alone and the graph plugin stays a thin file reader (the way nx-go keeps its target factory).
 */
export function createBinaryTargets(
  runtime: BinaryRuntime,
  spec: SpecInfo,
  context: TargetContext,
  options: StigmerPluginOptions = {},
): Record<string, TargetConfiguration> {
  const buildTarget = options.buildTargetName ?? 'build-binary';
  const testTarget = options.testTargetName ?? 'test-binary';
  const cleanTarget = options.cleanTargetName ?? 'clean-binary';
  const reportTarget = options.reportTargetName ?? 'binary-report';
  const publishTarget = options.publishTargetName ?? 'publish-binary';
  const binaries = spec.binaryFiles.map((file) => `{projectRoot}/dist/${file}`);
  const toolchain = { runtime: context.runtimeInputs.toolchainCommand };
  const technologies = runtime.technologies;
  // Toolchain options set in the plugin's options (an interpreter to build with) are the builds' defaults, as
  // their key probes them.
  const keyDefaults = Object.fromEntries((runtime.keyOptions ?? []).flatMap((name) => (typeof options[name] === 'string' && options[name] ? [[name, options[name]]] : [])));
  return {
    [buildTarget]: {
      executor: 'stigmer:build-binary',
      cache: true,
      options: { spec: spec.specFile, ...keyDefaults },
      inputs: [
        '{projectRoot}/**/*',
        '!{projectRoot}/dist/**/*',
        '!{projectRoot}/build/**/*',
        ...context.runtimeInputs.excludedSources.map((pattern) => `!${pattern}`),
        ...context.runtimeInputs.extraFiles,
        context.dependencyInput,
        // No npm package goes into this binary: without this, every package-lock.json change would rebuild it.
        { externalDependencies: [] },
        toolchain,
      ],
      outputs: [
        ...binaries.flatMap((binary) => [binary, `${binary}.sha256`, `${binary}.manifest.json`]),
        ...(runtime.report ? [`{projectRoot}/dist/${spec.binaryName}.report.json`, `{projectRoot}/dist/${spec.binaryName}.report.html`] : []),
      ],
      metadata: {
        technologies,
        description: `Build ${spec.binaryName} into ${spec.layout === 'onedir' ? `one standalone folder, shipped as ${spec.binaryFiles[0]},` : 'one standalone executable'} with ${runtime.displayName}`,
        help: {
          command: `npx nx run <project>:${buildTarget} --help`,
          example: { options: { clean: true } },
        },
      },
    },
    [testTarget]: {
      executor: 'stigmer:test-binary',
      cache: true,
      dependsOn: [buildTarget],
      // The smoke run the spec proposes (args, expectedOutput); project.json options still override it.
      options: { spec: spec.specFile, ...keyDefaults, ...(spec.smoke ?? {}) },
      // Keyed on the binary build-binary produced (not on the sources), plus what the checks read.
      inputs: [
        { dependentTasksOutputFiles: '**/*', transitive: false },
        `{projectRoot}/${spec.specFile}`,
        '{projectRoot}/.gitignore',
        '{workspaceRoot}/.gitignore',
        ...(context.runtimeInputs.checkedFiles ?? []),
        ...(context.runtimeInputs.testInputs ?? []),
        ...context.runtimeInputs.extraFiles,
        { externalDependencies: [] },
        toolchain,
      ],
      outputs: [],
      metadata: {
        technologies,
        description: `Prove ${spec.binaryName} is fit to ship: size budget, dependencies inside, smoke run, git ignore`,
        help: {
          command: `npx nx run <project>:${testTarget} --help`,
          example: { options: { args: ['--version'], expectedOutput: '\\d+\\.\\d+', sizeBudgetMb: 100 } },
        },
      },
    },
    ...(runtime.report
      ? {
          [reportTarget]: {
            executor: 'stigmer:binary-report',
            cache: false,
            dependsOn: [buildTarget],
            options: { spec: spec.specFile },
            metadata: {
              technologies,
              description: `What is inside ${spec.binaryName}, by package; with --compare <report.json, folder, or published version or channel>, what grew, shrank, appeared or vanished`,
              help: {
                command: `npx nx run <project>:${reportTarget} --help`,
                example: { options: { compare: 'previous/dist', html: true } },
              },
            },
          },
        }
      : {}),
    [publishTarget]: publishTargetConfiguration(spec, testTarget, technologies, options, `Publish ${spec.binaryName}'s binaries (every platform in dist/), signed, into the store, then its index`, publishTarget),
    // nx release publish runs this for each released project, after nx release version set the new version.
    [RELEASE_PUBLISH_TARGET]: publishTargetConfiguration(spec, testTarget, technologies, options, `Publish the version nx release set: ${spec.binaryName}'s binaries and index`, RELEASE_PUBLISH_TARGET),
    [cleanTarget]: {
      executor: 'stigmer:clean-binary',
      cache: false,
      options: { spec: spec.specFile },
      metadata: {
        technologies,
        description: `Remove ${spec.binaryName}, its side files and the build work files`,
      },
    },
  };
}

/** Never cached (it writes to a store, and reads the signing key from the environment); built and tested first. */
function publishTargetConfiguration(
  spec: SpecInfo,
  testTarget: string,
  technologies: string[],
  options: StigmerPluginOptions,
  description: string,
  name: string,
): TargetConfiguration {
  return {
    executor: 'stigmer:publish-binary',
    cache: false,
    dependsOn: [testTarget],
    options: { ...(options.publish ?? {}), spec: spec.specFile },
    metadata: {
      technologies,
      description,
      help: {
        command: `npx nx run <project>:${name} --help`,
        example: { options: { store: 's3://bucket/bin', channel: 'beta' } },
      },
    },
  };
}
