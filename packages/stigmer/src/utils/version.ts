/** The plugin's own version: part of every cache key and of every manifest. */
// eslint-disable-next-line @typescript-eslint/no-var-requires
export const STIGMER_VERSION: string = require('../../package.json').version;
