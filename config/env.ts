/**
 * Environment overrides: `GRIDOS_<SECTION>__<KEY>=value` sets `section.key`.
 * `__` separates levels, a single `_` inside a level turns into camelCase (`DATA_DIR` ->
 * `dataDir`), a number selects an array element (`GRIDOS_SOURCES__0__ENDPOINT`). Values are read
 * as YAML scalars, so `8080` is a number and `true` a boolean.
 */
import { parse as parseYaml } from 'yaml';

export const ENV_PREFIX = 'GRIDOS_';

export interface EnvOverride {
  name: string;
  path: (string | number)[];
  value: unknown;
}

function segmentToKey(segment: string): string | number {
  if (/^\d+$/.test(segment)) return Number(segment);
  const [head = '', ...rest] = segment.toLowerCase().split('_');
  return head + rest.map((w) => w.charAt(0).toUpperCase() + w.slice(1)).join('');
}

function scalar(text: string): unknown {
  try {
    const v: unknown = parseYaml(text);
    return v === null || typeof v === 'object' ? text : v;
  } catch {
    return text;
  }
}

/** The GRIDOS_ variables of `env`, as paths and values, in a stable order. */
export function envOverrides(env: NodeJS.ProcessEnv): EnvOverride[] {
  return Object.keys(env)
    .filter((name) => name.startsWith(ENV_PREFIX) && name.length > ENV_PREFIX.length)
    .sort()
    .map((name) => ({
      name,
      path: name.slice(ENV_PREFIX.length).split('__').map(segmentToKey),
      value: scalar(env[name] ?? ''),
    }));
}

/** Writes each override into `doc` (a plain object from YAML), creating levels as needed. */
export function applyOverrides(doc: Record<string, unknown>, overrides: readonly EnvOverride[]): void {
  for (const o of overrides) {
    let node: Record<string | number, unknown> = doc;
    o.path.forEach((key, i) => {
      if (i === o.path.length - 1) {
        node[key] = o.value;
        return;
      }
      const next = node[key];
      if (next === null || typeof next !== 'object') {
        node[key] = typeof o.path[i + 1] === 'number' ? [] : {};
      }
      node = node[key] as Record<string | number, unknown>;
    });
  }
}
