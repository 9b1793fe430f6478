// sucrase's parser is a real JavaScript/TypeScript tokenizer (strings, comments, templates, regular
// expressions, type syntax, JSX). es-module-lexer was tried first: it rejects TypeScript such as
// `import x = require('y')` and never reports require() calls. The version is pinned in package.json:
// these are sucrase's internal modules (its typings ship under dist/types).
import type { Token } from 'sucrase/dist/types/parser/tokenizer';
import type { ContextualKeyword as Keywords } from 'sucrase/dist/types/parser/tokenizer/keywords';
import type { TokenType as Types } from 'sucrase/dist/types/parser/tokenizer/types';

const { parse } = require('sucrase/dist/parser') as typeof import('sucrase/dist/types/parser');
export const TokenType = (require('sucrase/dist/parser/tokenizer/types') as { TokenType: typeof Types }).TokenType;
export const ContextualKeyword = (require('sucrase/dist/parser/tokenizer/keywords') as { ContextualKeyword: typeof Keywords }).ContextualKeyword;
export type { Token };

/** The tokens of a JavaScript or TypeScript source; the file name decides TypeScript and JSX. Throws on a syntax error. */
export function sourceTokens(content: string, fileName: string): Token[] {
  return parse(content, /\.(tsx|jsx)$/.test(fileName), /\.(ts|tsx|mts|cts)$/.test(fileName), false).tokens;
}
