import { isDeepStrictEqual } from 'node:util';
import { parse } from 'smol-toml';

export type TomlTable = Record<string, any>;

/** Reads TOML (smol-toml: strict, small, loadable with require, so the graph plugin can use it synchronously). */
export function parseToml(text: string, fileName: string): TomlTable {
  try {
    return parse(text) as TomlTable;
  } catch (error) {
    const reason = error instanceof Error ? error.message.split('\n')[0] : String(error);
    throw new Error(`${fileName} is not valid TOML (${reason}): fix it and run again.`);
  }
}

/*
 * Edits of a user's pyproject.toml are insertions of text, never a re-serialisation: every byte the user wrote
 * stays where it was (comments, alignment, order, line endings, a missing final newline). Each edit is then
 * proven with the parser: the new document must equal the old one plus exactly the intended change.
 * (A patching TOML library was tried first: it re-aligned comments in tables it did not touch.)
 */

interface Line {
  text: string;
  /** A `[table]` or `[[array]]` header at depth 0, outside multi-line strings and arrays. */
  header?: string[];
}

function scanLines(text: string): Line[] {
  const lines = text.split('\n');
  const result: Line[] = [];
  let inMultilineString: string | undefined;
  let depth = 0;
  for (const raw of lines) {
    const line = raw.replace(/\r$/, '');
    const atTop = !inMultilineString && depth === 0;
    const header = atTop ? /^\s*\[\[?\s*([^\]]+?)\s*\]\]?\s*(#.*)?$/.exec(line) : null;
    result.push({ text: raw, header: header ? splitKey(header[1]) : undefined });
    if (header) continue;
    // Track multi-line strings and brackets so that a `[` inside a value is never taken for a header.
    for (let i = 0; i < line.length; i++) {
      if (inMultilineString) {
        if (line.startsWith(inMultilineString, i)) {
          inMultilineString = undefined;
          i += 2;
        }
        continue;
      }
      const ch = line[i];
      if (ch === '#') break;
      if (line.startsWith('"""', i) || line.startsWith("'''", i)) {
        inMultilineString = line.slice(i, i + 3);
        i += 2;
      } else if (ch === '"' || ch === "'") {
        const end = findStringEnd(line, i);
        i = end;
      } else if (ch === '[' || ch === '{') depth++;
      else if (ch === ']' || ch === '}') depth = Math.max(0, depth - 1);
    }
  }
  return result;
}

function findStringEnd(line: string, start: number): number {
  const quote = line[start];
  for (let i = start + 1; i < line.length; i++) {
    if (quote === '"' && line[i] === '\\') i++;
    else if (line[i] === quote) return i;
  }
  return line.length;
}

/** `tool.poetry."group".dev` -> ['tool', 'poetry', 'group', 'dev']. */
export function splitKey(key: string): string[] {
  const parts: string[] = [];
  const re = /\s*("(?:[^"\\]|\\.)*"|'[^']*'|[A-Za-z0-9_-]+)\s*(?:\.|$)/g;
  let match: RegExpExecArray | null;
  while ((match = re.exec(key)) && match[0] !== '') {
    const part = match[1];
    parts.push(part.startsWith('"') ? JSON.parse(part) : part.startsWith("'") ? part.slice(1, -1) : part);
  }
  return parts;
}

function eolOf(text: string): string {
  return text.includes('\r\n') ? '\r\n' : '\n';
}

/** Adds `key = value` (value already TOML) as the last entry of the existing table `table`. */
export function insertIntoTable(text: string, table: string[], entry: string): string | undefined {
  const lines = scanLines(text);
  const start = lines.findIndex((l) => l.header && isDeepStrictEqual(l.header, table));
  if (start === -1) return undefined;
  let end = lines.length;
  for (let i = start + 1; i < lines.length; i++) if (lines[i].header) { end = i; break; }
  let last = start;
  for (let i = start + 1; i < end; i++) {
    const t = lines[i].text.trim();
    if (t && !t.startsWith('#')) last = i;
  }
  const eol = eolOf(text);
  const texts = lines.map((l) => l.text);
  const lastHadNoNewline = last === texts.length - 1 && !text.endsWith('\n');
  if (lastHadNoNewline) texts[last] = texts[last] + eol + entry;
  else texts.splice(last + 1, 0, entry + (eol === '\r\n' ? '\r' : ''));
  return texts.join('\n');
}

/** Appends a new `[table]` with its lines at the end, in the file's line endings, keeping a missing final newline missing. */
export function appendTable(text: string, header: string, entries: string[]): string {
  const eol = eolOf(text);
  const endsWithNewline = text.length === 0 || text.endsWith('\n');
  const body = [header, ...entries].join(eol);
  const separator = text.length === 0 ? '' : endsWithNewline ? (text.endsWith(`${eol}${eol}`) ? '' : eol) : `${eol}${eol}`;
  return `${text}${separator}${body}${endsWithNewline ? eol : ''}`;
}

/** Appends an item (TOML text) to the array `key` of table `table`, on its own line if the array spans lines. */
export function appendToArray(text: string, table: string[], key: string, item: string): string | undefined {
  const lines = scanLines(text);
  const start = table.length ? lines.findIndex((l) => l.header && isDeepStrictEqual(l.header, table)) : -1;
  if (table.length && start === -1) return undefined;
  const keyLine = lines.findIndex((l, i) => i > start && !l.header && new RegExp(`^\\s*["']?${escapeRegExp(key)}["']?\\s*=\\s*\\[`).test(l.text));
  if (keyLine === -1 || lines.slice(start + 1, keyLine).some((l) => l.header)) return undefined;
  // Offset of the array's closing bracket.
  const offsets: number[] = [];
  let offset = 0;
  for (const l of lines) { offsets.push(offset); offset += l.text.length + 1; }
  const open = offsets[keyLine] + lines[keyLine].text.indexOf('[');
  const close = matchingBracket(text, open);
  if (close === -1) return undefined;
  const inner = text.slice(open + 1, close);
  const eol = eolOf(text);
  if (!inner.includes('\n')) {
    const trimmed = inner.trim();
    const insertion = trimmed === '' ? item : trimmed.endsWith(',') ? ` ${item}` : `, ${item}`;
    const before = text.slice(0, open + 1) + inner.replace(/\s*$/, '');
    return before + insertion + text.slice(close);
  }
  // Multi-line: a new line with the last item's indentation, before the closing bracket's line.
  const closeLineStart = text.lastIndexOf('\n', close) + 1;
  if (text.slice(closeLineStart, close).trim()) {
    const head = text.slice(0, close).trimEnd();
    return `${head}${head.endsWith(',') ? ' ' : ', '}${item}${text.slice(close)}`;
  }
  const headLines = text.slice(0, closeLineStart).split('\n');
  let indent = '    ';
  for (let i = headLines.length - 2; i >= keyLine; i--) {
    const code = withoutComment(headLines[i].replace(/\r$/, ''));
    if (!code.trim()) continue;
    if (i === keyLine && code.trimEnd().endsWith('[')) break;
    indent = /^\s*/.exec(code)?.[0] || indent;
    const trimmed = code.trimEnd();
    if (!trimmed.endsWith(',')) headLines[i] = trimmed + ',' + headLines[i].slice(trimmed.length);
    break;
  }
  return `${headLines.join('\n')}${indent}${item},${eol}${text.slice(closeLineStart)}`;
}

/** A line without its trailing comment (a `#` outside strings). */
function withoutComment(line: string): string {
  for (let i = 0; i < line.length; i++) {
    if (line[i] === '"' || line[i] === "'") i = findStringEnd(line, i);
    else if (line[i] === '#') return line.slice(0, i);
  }
  return line;
}

function matchingBracket(text: string, open: number): number {
  let depth = 0;
  for (let i = open; i < text.length; i++) {
    const ch = text[i];
    if (ch === '#') { i = text.indexOf('\n', i); if (i === -1) return -1; continue; }
    if (ch === '"' || ch === "'") {
      if (text.startsWith(ch.repeat(3), i)) { i = text.indexOf(ch.repeat(3), i + 3) + 2; continue; }
      for (i++; i < text.length && text[i] !== ch; i++) if (ch === '"' && text[i] === '\\') i++;
      continue;
    }
    if (ch === '[') depth++;
    else if (ch === ']' && --depth === 0) return i;
  }
  return -1;
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/**
 * Proves an edit: `after` parses and equals `before` with `change` applied, nothing else. Throws otherwise,
 * so the user's file is never written with anything but the intended addition.
 */
export function verifyEdit(before: string, after: string, change: (doc: TomlTable) => void): string {
  const expected = parseToml(before, 'pyproject.toml');
  change(expected);
  let actual: TomlTable;
  try {
    actual = parse(after) as TomlTable;
  } catch {
    actual = {};
  }
  if (!isDeepStrictEqual(JSON.parse(JSON.stringify(actual)), JSON.parse(JSON.stringify(expected)))) {
    throw new Error('could not add PyInstaller to pyproject.toml without changing anything else: add it as a dev dependency by hand.');
  }
  return after;
}

/**
 * Replaces the basic-string value of `key` in table `table` (`version = "1.1.0"  # comment` keeps its quotes,
 * spacing and comment). Undefined when the key is not there as a one-line string.
 */
export function replaceStringValue(text: string, table: string[], key: string, value: string): string | undefined {
  const lines = scanLines(text);
  const start = lines.findIndex((l) => l.header && isDeepStrictEqual(l.header, table));
  if (start === -1) return undefined;
  const pattern = new RegExp(`^(\\s*["']?${escapeRegExp(key)}["']?\\s*=\\s*)(["'])([^"'\\\\]*)\\2`);
  for (let i = start + 1; i < lines.length && !lines[i].header; i++) {
    const match = pattern.exec(lines[i].text);
    if (!match) continue;
    const texts = lines.map((l) => l.text);
    texts[i] = `${match[1]}${match[2]}${value}${match[2]}${lines[i].text.slice(match[0].length)}`;
    return texts.join('\n');
  }
  return undefined;
}
