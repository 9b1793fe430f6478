import * as fs from 'node:fs';
import * as path from 'node:path';
import { normalizeDistName } from './project-metadata';

/**
 * Distributions whose import name is not their name, among the ones services commonly declare.
 * Used when no environment is installed to read the truth from (installed metadata wins).
 */
const KNOWN_IMPORT_NAMES: Record<string, string[]> = {
  pyjwt: ['jwt'],
  grpcio: ['grpc'],
  'grpcio-tools': ['grpc_tools'],
  'grpcio-status': ['grpc_status'],
  'grpcio-health-checking': ['grpc_health'],
  'grpcio-reflection': ['grpc_reflection'],
  protobuf: ['google.protobuf'],
  googleapis: ['google.api'],
  'googleapis-common-protos': ['google.api', 'google.rpc'],
  'google-api-core': ['google.api_core'],
  'google-auth': ['google.auth'],
  'google-cloud-storage': ['google.cloud.storage'],
  pyyaml: ['yaml'],
  'python-dotenv': ['dotenv'],
  beautifulsoup4: ['bs4'],
  pillow: ['PIL'],
  'scikit-learn': ['sklearn'],
  'opencv-python': ['cv2'],
  'opencv-python-headless': ['cv2'],
  'python-dateutil': ['dateutil'],
  attrs: ['attr', 'attrs'],
  'typing-extensions': ['typing_extensions'],
  'python-multipart': ['multipart'],
  'psycopg2-binary': ['psycopg2'],
  'psycopg-binary': ['psycopg_binary'],
  pycryptodome: ['Crypto'],
  pycryptodomex: ['Cryptodome'],
  pyopenssl: ['OpenSSL'],
  'python-jose': ['jose'],
  'websocket-client': ['websocket'],
  'email-validator': ['email_validator'],
  'opentelemetry-api': ['opentelemetry'],
  'opentelemetry-sdk': ['opentelemetry.sdk'],
  'prometheus-client': ['prometheus_client'],
  'python-json-logger': ['pythonjsonlogger'],
  mysqlclient: ['MySQLdb'],
  pyzmq: ['zmq'],
  pyserial: ['serial'],
  'faiss-cpu': ['faiss'],
  'huggingface-hub': ['huggingface_hub'],
  'sentence-transformers': ['sentence_transformers'],
  'msgpack-python': ['msgpack'],
  'ruamel-yaml': ['ruamel.yaml'],
  setuptools: ['setuptools', 'pkg_resources'],
};

/** Modules that packages load by name and PyInstaller cannot find on its own. */
const EXTRA_HIDDEN_IMPORTS: Record<string, string[]> = {
  tiktoken: ['tiktoken_ext', 'tiktoken_ext.openai_public'],
  langchain: ['langchain_core'],
};

/** Import names of a distribution: installed metadata when available, then the known map, then its name. */
export function importNamesOf(distribution: string, sitePackages?: string): string[] {
  const installed = sitePackages ? installedTopLevelModules(distribution, sitePackages) : undefined;
  if (installed && installed.length) return installed;
  const known = KNOWN_IMPORT_NAMES[normalizeDistName(distribution)];
  if (known) return known;
  return [normalizeDistName(distribution).replace(/-/g, '_')];
}

export function extraHiddenImportsOf(distribution: string): string[] {
  return EXTRA_HIDDEN_IMPORTS[normalizeDistName(distribution)] ?? [];
}

/**
 * Top-level modules of an installed distribution, from its dist-info (top_level.txt, else RECORD).
 * A namespace package (google/ without __init__.py) is named one level down: google.protobuf.
 */
export function installedTopLevelModules(distribution: string, sitePackages: string): string[] | undefined {
  const distInfo = findDistInfo(distribution, sitePackages);
  if (!distInfo) return undefined;
  const record = readText(path.join(distInfo, 'RECORD'));
  const files = record ? record.split(/\r?\n/).map((line) => line.split(',')[0]).filter(Boolean) : [];
  const topLevel = readText(path.join(distInfo, 'top_level.txt'));
  const candidates = topLevel
    ? topLevel.split(/\r?\n/).map((s) => s.trim()).filter(Boolean)
    : [...new Set(files.filter(isModuleFile).map((f) => f.split('/')[0].replace(/\.py$|\..*\.(so|pyd)$/, '')))];
  const names = new Set<string>();
  for (const top of candidates) {
    if (top.startsWith('_') && candidates.length > 1) continue; // private helpers (_yaml) come with the package
    const isNamespace = !files.some((f) => f === `${top}/__init__.py` || f === `${top}.py` || /^[^/]+\.(so|pyd)$/.test(f) && f.startsWith(`${top}.`));
    const children = isNamespace
      ? [...new Set(files.filter((f) => f.startsWith(`${top}/`) && f.split('/').length > 2 && f.endsWith('/__init__.py')).map((f) => f.split('/')[1]))]
      : [];
    if (isNamespace && children.length) children.forEach((child) => names.add(`${top}.${child}`));
    else names.add(top);
  }
  return [...names];
}

function isModuleFile(file: string): boolean {
  return !file.includes('.dist-info/') && !file.startsWith('..') && /(\.py|\.so|\.pyd)$/.test(file) && !file.startsWith('bin/');
}

function findDistInfo(distribution: string, sitePackages: string): string | undefined {
  const wanted = normalizeDistName(distribution);
  let entries: string[];
  try {
    entries = fs.readdirSync(sitePackages);
  } catch {
    return undefined;
  }
  const match = entries.find((entry) => {
    const m = /^(.+?)-[^-]+\.dist-info$/.exec(entry);
    return m !== null && normalizeDistName(m[1]) === wanted;
  });
  return match ? path.join(sitePackages, match) : undefined;
}

function readText(file: string): string | undefined {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
}

/** site-packages of a virtual environment folder (posix and Windows layouts), if it exists. */
export function sitePackagesOf(venvDir: string): string | undefined {
  const windows = path.join(venvDir, 'Lib', 'site-packages');
  if (fs.existsSync(windows)) return windows;
  const lib = path.join(venvDir, 'lib');
  let versions: string[] = [];
  try {
    versions = fs.readdirSync(lib).filter((d) => d.startsWith('python'));
  } catch {
    return undefined;
  }
  for (const version of versions) {
    const candidate = path.join(lib, version, 'site-packages');
    if (fs.existsSync(candidate)) return candidate;
  }
  return undefined;
}
