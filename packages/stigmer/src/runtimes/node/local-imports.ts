/** JavaScript and TypeScript sources whose imports can reach other workspace projects. */
export const JS_SOURCE = /\.(ts|tsx|mts|cts|js|jsx|mjs|cjs)$/;

const IMPORT =
  /\bfrom\s*['"]([^'"\n]+)['"]|\bimport\s*\(\s*['"]([^'"\n]+)['"]\s*\)|\brequire\s*\(\s*['"]([^'"\n]+)['"]\s*\)|\bimport\s+['"]([^'"\n]+)['"]/g;

/** The module specifiers a source file imports or requires (static strings only). File text in, names out. */
export function importSpecifiers(content: string): string[] {
  const withoutComments = content.replace(/\/\*[\s\S]*?\*\//g, '').replace(/(^|[^:'"])\/\/.*$/gm, '$1');
  const found = new Set<string>();
  for (const match of withoutComments.matchAll(IMPORT)) {
    const specifier = match[1] ?? match[2] ?? match[3] ?? match[4];
    if (specifier && !specifier.startsWith('node:')) found.add(specifier);
  }
  return [...found];
}

/** The package name of a bare specifier: "@org/lib/sub" -> "@org/lib", "lodash/fp" -> "lodash". */
export function packageName(specifier: string): string {
  const parts = specifier.split('/');
  return specifier.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0];
}
