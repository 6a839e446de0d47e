/**
 * Loading a config: read the YAML file, apply GRIDOS_ environment overrides, validate with the
 * zod schema, and return the compiled config frozen. Reject, don't repair: every problem is
 * reported at once, each as `file: key.path: expected X, got Y`.
 */
import { readFileSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import { parseDocument } from 'yaml';
import type { z } from 'zod';
import { applyOverrides, envOverrides } from './env.js';
import { ConfigError, problemsFromZod } from './errors.js';

export interface LoadOptions {
  env?: NodeJS.ProcessEnv;
}

function deepFreeze<T>(v: T): T {
  if (v !== null && typeof v === 'object' && !Object.isFrozen(v)) {
    Object.freeze(v);
    for (const child of Object.values(v)) deepFreeze(child);
  }
  return v;
}

/** The text of a config file; a file that cannot be read is a ConfigError naming it. */
export function readConfigText(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (e) {
    const why = (e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : String((e as Error).message);
    throw new ConfigError([{ origin: file, key: '', message: `cannot read the config file: ${why}` }]);
  }
}

/** Parses YAML text into a plain object; YAML syntax errors become problems with line numbers. */
export function parseYamlDocument(file: string, text: string): Record<string, unknown> {
  const doc = parseDocument(text, { prettyErrors: true });
  if (doc.errors.length > 0) {
    throw new ConfigError(
      doc.errors.map((e) => ({ origin: file, key: '', message: `YAML syntax error at line ${e.linePos?.[0]?.line ?? '?'}: ${e.message.split('\n')[0]?.replace(/ at line \d+, column \d+:?$/, '')}` })),
    );
  }
  const value: unknown = doc.toJS();
  if (value === null || value === undefined) return {};
  if (typeof value !== 'object' || Array.isArray(value)) {
    throw new ConfigError([{ origin: file, key: '', message: 'expected a mapping of sections (edge:, hub:, ...), got ' + (Array.isArray(value) ? 'a list' : typeof value) }]);
  }
  return value as Record<string, unknown>;
}

/**
 * Validates a plain document (from a file, or built in code) against a schema, after applying
 * the GRIDOS_ overrides from `options.env`. `origin` names the document in error messages.
 */
export function validateConfig<S extends z.ZodType>(schema: S, doc: Record<string, unknown>, origin: string, options: LoadOptions = {}): z.output<S> {
  return deepFreeze(parseAgainst(schema, doc, origin, options));
}

function parseAgainst<S extends z.ZodType>(schema: S, doc: Record<string, unknown>, origin: string, options: LoadOptions): z.output<S> {
  const overrides = envOverrides(options.env ?? {});
  applyOverrides(doc, overrides);
  const result = schema.safeParse(doc);
  if (!result.success) throw new ConfigError(problemsFromZod(origin, doc, result.error.issues, overrides));
  return result.data;
}

/**
 * Loads `file` (or only defaults and environment when `file` is undefined). Relative paths
 * named by `pathKeys` (e.g. `storage.dataDir`) resolve against the file's folder.
 */
export function loadConfigFile<S extends z.ZodType>(
  schema: S,
  file: string | undefined,
  options: LoadOptions & { pathKeys?: string[][] } = {},
): z.output<S> {
  let doc: Record<string, unknown> = {};
  const origin = file ?? '(defaults)';
  if (file !== undefined) doc = parseYamlDocument(file, readConfigText(file));
  const base = file !== undefined ? dirname(resolve(file)) : process.cwd();
  const data = parseAgainst(schema, doc, origin, { env: options.env ?? process.env }) as Record<string, unknown>;
  for (const path of options.pathKeys ?? []) resolvePath(data, path, base);
  return deepFreeze(data as z.output<S>);
}

/** Resolves the path at `path` ('*' steps into every item of a list or value of a mapping) against `base`. */
function resolvePath(data: unknown, path: string[], base: string): void {
  if (data === null || typeof data !== 'object') return;
  const [key, ...rest] = path;
  if (key === undefined) return;
  if (key === '*') {
    // every item of a list, or every value of a mapping (edge id -> file)
    for (const k of Object.keys(data)) resolvePath(data, [k, ...rest], base);
    return;
  }
  const node = data as Record<string, unknown>;
  if (rest.length > 0) return resolvePath(node[key], rest, base);
  const v = node[key];
  // A URL (`http://hub/tuf/`) in a key that also takes a directory is left as it is.
  if (typeof v === 'string' && !isAbsolute(v) && !/^[a-z][a-z0-9+.-]+:\/\//i.test(v)) node[key] = resolve(base, v);
}
