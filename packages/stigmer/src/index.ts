/** stigmer: an Nx plugin that turns any service of a monorepo into one standalone executable. */
export { createNodes, createNodesV2 } from './plugins/plugin';
export { createDependencies } from './plugins/dependencies';
export type { StigmerPluginOptions } from './plugins/targets';
export { binarySpecGenerator } from './generators/binary-spec/generator';
export { initGenerator } from './generators/init/generator';
export { ciWorkflowGenerator } from './generators/ci-workflow/generator';
export { signingKeyGenerator } from './generators/signing-key/generator';
export { RUNTIMES } from './runtimes';
export type { BinaryRuntime, RuntimeId } from './runtimes/types';
