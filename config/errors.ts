/** Config problems as data: where (file or environment variable), which key, what was wrong. */
import type { z } from 'zod';
import type { EnvOverride } from './env.js';

export interface ConfigProblem {
  /** The file, or `env GRIDOS_X` when an environment variable supplied the value. */
  origin: string;
  /** Dotted key path, e.g. `sources.0.endpoint`; empty for the document itself. */
  key: string;
  message: string;
}

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  readonly code = 'CONFIG_INVALID';
  constructor(readonly problems: ConfigProblem[]) {
    super(problems.map(formatProblem).join('\n'));
  }
}

export function formatProblem(p: ConfigProblem): string {
  return `${p.origin}: ${p.key || '(document)'}: ${p.message}`;
}

function valueAt(doc: unknown, path: readonly PropertyKey[]): unknown {
  let v: unknown = doc;
  for (const k of path) {
    if (v === null || typeof v !== 'object') return undefined;
    v = (v as Record<PropertyKey, unknown>)[k];
  }
  return v;
}

/** How a value looks in a message: its type and a short rendering. */
export function describeValue(v: unknown): string {
  if (v === undefined) return 'nothing (the key is missing)';
  if (v === null) return 'null';
  if (Array.isArray(v)) return `a list of ${v.length}`;
  if (typeof v === 'object') return 'a mapping';
  const text = JSON.stringify(v);
  return `${typeof v} ${text.length > 60 ? text.slice(0, 57) + '...' : text}`;
}

function message(issue: z.core.$ZodIssue, doc: unknown): string {
  const got = describeValue(valueAt(doc, issue.path));
  switch (issue.code) {
    case 'invalid_type':
      return `expected ${issue.expected}, got ${got}`;
    case 'invalid_value':
      return `expected one of ${issue.values.map((v) => JSON.stringify(v)).join(', ')}, got ${got}`;
    case 'invalid_format':
      return `expected ${issue.message}, got ${got}`;
    case 'too_small':
      return `expected ${issue.origin === 'array' ? 'at least ' + issue.minimum + ' item(s)' : issue.origin === 'string' ? 'at least ' + issue.minimum + ' character(s)' : (issue.inclusive ? '>= ' : '> ') + issue.minimum}, got ${got}`;
    case 'too_big':
      return `expected ${issue.origin === 'array' ? 'at most ' + issue.maximum + ' item(s)' : (issue.inclusive ? '<= ' : '< ') + issue.maximum}, got ${got}`;
    case 'invalid_union':
      return `expected ${issue.message.replace(/^Invalid input:?\s*/i, '') || 'one of the allowed forms'}, got ${got}`;
    case 'custom':
      return issue.message.startsWith('expected') ? `${issue.message}, got ${got}` : issue.message;
    default:
      return issue.message;
  }
}

/** Turns zod issues into problems, naming the env variable where one supplied the value. */
export function problemsFromZod(file: string, doc: unknown, issues: readonly z.core.$ZodIssue[], overrides: readonly EnvOverride[]): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  for (const issue of issues) {
    if (issue.code === 'unrecognized_keys') {
      for (const k of issue.keys) {
        const path = [...issue.path, k];
        problems.push({ origin: originOf(file, path, overrides), key: path.join('.'), message: 'unknown key (check its spelling and level)' });
      }
      continue;
    }
    // zod reports a discriminated union with a bad tag at the union; say which tags exist.
    problems.push({ origin: originOf(file, issue.path, overrides), key: issue.path.join('.'), message: message(issue, doc) });
  }
  return problems;
}

function originOf(file: string, path: readonly PropertyKey[], overrides: readonly EnvOverride[]): string {
  const key = path.join('.');
  const o = overrides.find((ov) => key === ov.path.join('.') || key.startsWith(ov.path.join('.') + '.'));
  return o ? `env ${o.name} (over ${file})` : file;
}
