/*
 * Every executor and generator schema, checked by a real JSON-schema validator (ajv), as Nx validates options:
 * the schema documents are valid JSON Schema, their defaults pass their own schema, unknown options and options
 * of the wrong type are refused, and the options the inferred targets set are accepted.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import Ajv, { ValidateFunction } from 'ajv';
import { RUNTIMES } from '../runtimes';
import { pythonRuntime } from '../runtimes/python';
import { createBinaryTargets } from '../plugins/targets';

const PACKAGE_ROOT = path.join(__dirname, '..', '..');

/** name -> schema path in src/, for each entry of executors.json and generators.json (which point into dist/). */
function declared(file: 'executors.json' | 'generators.json'): Record<string, string> {
  const json = JSON.parse(fs.readFileSync(path.join(PACKAGE_ROOT, file), 'utf8'));
  const entries = json.executors ?? json.generators;
  return Object.fromEntries(Object.entries<{ schema: string }>(entries).map(([name, entry]) => [name, path.join(PACKAGE_ROOT, entry.schema.replace(/^\.\/dist\//, 'src/'))]));
}

const EXECUTORS = declared('executors.json');
const GENERATORS = declared('generators.json');
const ALL = { ...EXECUTORS, ...Object.fromEntries(Object.entries(GENERATORS).map(([name, file]) => [`generator ${name}`, file])) };

function readSchema(file: string): Record<string, any> {
  // Nx's own "$schema" URL names no JSON-Schema draft: the documents are validated as draft-07 (ajv's default).
  const { $schema, ...schema } = JSON.parse(fs.readFileSync(file, 'utf8'));
  void $schema;
  return schema;
}

/** A validator as strict as ajv allows for Nx schemas (Nx adds keywords such as "version", "x-prompt", "$default"). */
function validator(file: string, options: { useDefaults?: boolean } = {}): ValidateFunction {
  const ajv = new Ajv({ allErrors: true, strict: false, useDefaults: options.useDefaults ?? false });
  return ajv.compile(readSchema(file));
}

function errors(validate: ValidateFunction, options: unknown): string[] {
  return validate(options) ? [] : (validate.errors ?? []).map((e) => `${e.instancePath || '/'} ${e.message}${e.params && 'additionalProperty' in e.params ? ` (${e.params.additionalProperty})` : ''}`);
}

describe('executor and generator schemas (ajv)', () => {
  it('cover every executor and generator, and each file exists', () => {
    expect(Object.keys(EXECUTORS).sort()).toEqual(['binary-report', 'build-binary', 'clean-binary', 'publish-binary', 'test-binary']);
    expect(Object.keys(GENERATORS).sort()).toEqual(['binary-spec', 'ci-workflow', 'init', 'signing-key']);
    for (const file of Object.values(ALL)) expect(fs.existsSync(file)).toBe(true);
  });

  it.each(Object.entries(ALL))('%s: a valid JSON Schema document', (_name, file) => {
    const ajv = new Ajv({ strict: false });
    expect(ajv.validateSchema(readSchema(file))).toBe(true);
    expect(ajv.errors ?? null).toBeNull();
    expect(() => validator(file)).not.toThrow();
  });

  it.each(Object.entries(ALL))('%s: its defaults pass its own schema, and every default lies in its enum', (_name, file) => {
    const schema = readSchema(file);
    const required = Object.fromEntries((schema.required ?? []).map((key: string) => [key, 'x']));
    const options = { ...required };
    const validate = validator(file, { useDefaults: true });
    expect(errors(validate, options)).toEqual([]);
    for (const [key, property] of Object.entries<any>(schema.properties ?? {})) {
      if ('default' in property) expect({ key, value: (options as Record<string, unknown>)[key] }).toEqual({ key, value: property.default });
      if (property.enum && 'default' in property) expect(property.enum).toContain(property.default);
    }
  });

  it.each(Object.entries(ALL))('%s: refuses an unknown option', (_name, file) => {
    const required = Object.fromEntries((readSchema(file).required ?? []).map((key: string) => [key, 'x']));
    expect(errors(validator(file), { ...required, colour: 'red' })).toEqual(['/ must NOT have additional properties (colour)']);
  });

  it.each(Object.entries(EXECUTORS))('%s: spec is a path and runtime one of the runtimes', (_name, file) => {
    const validate = validator(file);
    expect(errors(validate, { spec: 'svc.spec', runtime: RUNTIMES[0].id })).toEqual([]);
    expect(errors(validate, { spec: 3 })).toEqual(['/spec must be string']);
    expect(errors(validate, { runtime: 'cobol' })).toEqual(['/runtime must be equal to one of the allowed values']);
    expect(readSchema(file).properties.runtime.enum).toEqual(RUNTIMES.map((r) => r.id));
  });

  it('test-binary: refuses what the checks could not use', () => {
    const validate = validator(EXECUTORS['test-binary']);
    expect(errors(validate, { sizeBudgetMb: 'big' })).toEqual(['/sizeBudgetMb must be number']);
    expect(errors(validate, { sizeBudgetMb: 0 })).toEqual(['/sizeBudgetMb must be > 0']);
    expect(errors(validate, { expectedExitCode: 1.5 })).toEqual(['/expectedExitCode must be integer']);
    expect(errors(validate, { args: ['--version', 3] })).toEqual(['/args/1 must be string']);
    expect(errors(validate, { env: { PORT: 8080 } })).toEqual(['/env/PORT must be string']);
    expect(errors(validate, { environment: 'conda' })).toEqual(['/environment must be equal to one of the allowed values']);
    expect(errors(validate, { sizeBudgetMb: 120, smoke: true, args: ['--version'], expectedExitCode: 0, env: { PORT: '8080' }, timeout: 30, checkGitIgnore: false })).toEqual([]);
  });

  it('binary-report: compare is a path or a published version, html a flag or a path', () => {
    const validate = validator(EXECUTORS['binary-report']);
    expect(errors(validate, { compare: 'old/dist', html: true })).toEqual([]);
    expect(errors(validate, { compare: '1.2.0', store: 's3://bucket/bin', endpoint: 'http://127.0.0.1:9000', region: 'auto' })).toEqual([]);
    expect(errors(validate, { compare: 'old/dist', html: 'out/compare.html' })).toEqual([]);
    expect(errors(validate, { compare: 3 })).toEqual(['/compare must be string']);
  });

  it('publish-binary: report is a flag', () => {
    const validate = validator(EXECUTORS['publish-binary']);
    expect(errors(validate, { report: true, store: 's3://bucket/bin' })).toEqual([]);
    expect(errors(validate, { report: 'yes' })).toEqual(['/report must be boolean']);
  });

  it('build-binary: refuses a timeout that is not a positive number', () => {
    const validate = validator(EXECUTORS['build-binary']);
    expect(errors(validate, { timeout: 0 })).toEqual(['/timeout must be > 0']);
    expect(errors(validate, { timeout: '10' })).toEqual(['/timeout must be number']);
    expect(errors(validate, { timeout: 600, clean: true, verbose: true })).toEqual([]);
  });

  it('generators: binary-spec needs a project; ci-workflow refuses an unknown platform and a file name with a slash', () => {
    expect(errors(validator(GENERATORS['binary-spec']), {})).toEqual(["/ must have required property 'project'"]);
    const ci = validator(GENERATORS['ci-workflow']);
    expect(errors(ci, { platforms: ['linux-x64', 'solaris-sparc'] })).toEqual(['/platforms/1 must be equal to one of the allowed values']);
    expect(errors(ci, { name: '../evil' })).toEqual(['/name must match pattern "^[A-Za-z0-9._-]+$"']);
  });

  it('accept the options the inferred targets set and show in their help examples', () => {
    const targets = createBinaryTargets(
      pythonRuntime,
      { specFile: 'svc.spec', binaryName: 'svc', binaryFiles: ['svc'] },
      { projectRoot: 'apps/svc', dependencyInput: '^default', runtimeInputs: pythonRuntime.inputs('apps/svc', () => false, {}) },
    );
    for (const [name, file] of Object.entries(EXECUTORS)) {
      const target = targets[name];
      expect(target).toBeDefined();
      const examples = (target.metadata?.help?.example as { options?: Record<string, unknown> } | undefined)?.options ?? {};
      expect({ name, errors: errors(validator(file), { ...target.options, ...examples }) }).toEqual({ name, errors: [] });
    }
  });
});
