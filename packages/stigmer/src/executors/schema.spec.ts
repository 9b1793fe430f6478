/*
 * The executors' option schemas. No JSON-schema validator (ajv) is installed in the workspace, so this checks
 * the schema documents themselves: unknown options are refused (additionalProperties false) and every
 * option has the type the executors read it as.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { RUNTIMES } from '../runtimes';
import { pythonRuntime } from '../runtimes/python';
import { createBinaryTargets } from '../plugins/targets';

type JsonSchema = {
  type?: string;
  properties?: Record<string, JsonSchema & { default?: unknown; enum?: unknown[]; items?: JsonSchema; exclusiveMinimum?: number }>;
  additionalProperties?: boolean | JsonSchema;
  required?: string[];
};

function readSchema(executor: string): JsonSchema {
  return JSON.parse(fs.readFileSync(path.join(__dirname, executor, 'schema.json'), 'utf8'));
}

const EXECUTORS = ['build-binary', 'test-binary', 'clean-binary'];

function typeOf(value: unknown): string {
  if (Array.isArray(value)) return 'array';
  if (value === null) return 'null';
  if (typeof value === 'number') return Number.isInteger(value) ? 'integer' : 'number';
  return typeof value;
}

function matchesType(value: unknown, type: string | undefined): boolean {
  const actual = typeOf(value);
  return type === undefined || actual === type || (type === 'number' && actual === 'integer');
}

describe('executor schemas', () => {
  it('exist for every executor declared in executors.json', () => {
    const declared = JSON.parse(fs.readFileSync(path.join(__dirname, '..', '..', 'executors.json'), 'utf8')).executors;
    expect(Object.keys(declared).sort()).toEqual([...EXECUTORS].sort());
    for (const name of EXECUTORS) expect(fs.existsSync(path.join(__dirname, name, 'schema.json'))).toBe(true);
  });

  it.each(EXECUTORS)('%s refuses unknown options (additionalProperties false)', (name) => {
    const schema = readSchema(name);
    expect(schema.type).toBe('object');
    expect(schema.additionalProperties).toBe(false);
    expect(schema.properties).not.toHaveProperty('unknownOption');
  });

  it.each(EXECUTORS)('%s has a type for every option, defaults of that type, and a spec and runtime option', (name) => {
    const schema = readSchema(name);
    const properties = schema.properties ?? {};
    expect(properties.spec?.type).toBe('string');
    expect(properties.runtime).toEqual(expect.objectContaining({ type: 'string', enum: RUNTIMES.map((r) => r.id) }));
    for (const [key, property] of Object.entries(properties)) {
      expect({ key, type: typeof property.type }).toEqual({ key, type: 'string' });
      if ('default' in property) expect({ key, ok: matchesType(property.default, property.type) }).toEqual({ key, ok: true });
      if (property.enum && 'default' in property) expect(property.enum).toContain(property.default);
    }
  });

  it('test-binary: sizeBudgetMb is a positive number (so "big" is refused)', () => {
    const { sizeBudgetMb } = readSchema('test-binary').properties ?? {};
    expect(sizeBudgetMb?.type).toBe('number');
    expect(sizeBudgetMb?.exclusiveMinimum).toBe(0);
    expect(matchesType('big', sizeBudgetMb?.type)).toBe(false);
    expect(matchesType(100, sizeBudgetMb?.type)).toBe(true);
  });

  it('test-binary: option types match what the checks read', () => {
    const properties = readSchema('test-binary').properties ?? {};
    expect(properties.smoke?.type).toBe('boolean');
    expect(properties.checkGitIgnore?.type).toBe('boolean');
    expect(properties.args).toEqual(expect.objectContaining({ type: 'array', items: { type: 'string' } }));
    expect(properties.expectedExitCode?.type).toBe('integer');
    expect(properties.expectedOutput?.type).toBe('string');
    expect(properties.timeout?.type).toBe('number');
    expect(properties.env).toEqual(expect.objectContaining({ type: 'object', additionalProperties: { type: 'string' } }));
    expect(properties.environment?.enum).toEqual(['auto', 'interpreter', 'poetry', 'uv', 'managed']);
  });

  it('build-binary: option types match what the build reads', () => {
    const properties = readSchema('build-binary').properties ?? {};
    expect(properties.clean?.type).toBe('boolean');
    expect(properties.timeout).toEqual(expect.objectContaining({ type: 'number', exclusiveMinimum: 0 }));
    expect(properties.version?.type).toBe('string');
    expect(properties.python?.type).toBe('string');
    expect(properties.verbose?.type).toBe('boolean');
    expect(properties.environment).toEqual(expect.objectContaining({ type: 'string', default: 'auto' }));
  });

  it('clean-binary: has only spec and runtime', () => {
    expect(Object.keys(readSchema('clean-binary').properties ?? {}).sort()).toEqual(['runtime', 'spec']);
  });

  it('accepts the options the inferred targets set and show in their help examples', () => {
    const targets = createBinaryTargets(
      pythonRuntime,
      { specFile: 'svc.spec', binaryName: 'svc', binaryFiles: ['svc'] },
      { projectRoot: 'apps/svc', dependencyInput: '^default', runtimeInputs: pythonRuntime.inputs('apps/svc', () => false, {}) },
    );
    for (const name of EXECUTORS) {
      const target = targets[name];
      const properties = readSchema(name).properties ?? {};
      const examples = (target.metadata?.help?.example as { options?: Record<string, unknown> } | undefined)?.options ?? {};
      for (const [key, value] of Object.entries({ ...target.options, ...examples })) {
        expect({ name, key, declared: key in properties }).toEqual({ name, key, declared: true });
        expect({ name, key, ok: matchesType(value, properties[key]?.type) }).toEqual({ name, key, ok: true });
      }
    }
  });
});
