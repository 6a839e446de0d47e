// Copies the non-TypeScript files that code loads at run time (.proto schemas, the console's
// static files, the simulator's data slice, example configs) next to their compiled modules,
// so `new URL('./x.proto', import.meta.url)` resolves the same way from source and from dist/.
import { cpSync, readdirSync, statSync, mkdirSync } from 'node:fs';
import { join, extname } from 'node:path';

const roots = ['protocols', 'config', 'edge', 'hub', 'models', 'simulators'];
const skip = new Set(['.ts', '.md']);

function walk(dir) {
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) walk(path);
    else if (!skip.has(extname(name))) {
      mkdirSync(join('dist', dir), { recursive: true });
      cpSync(path, join('dist', path));
    }
  }
}
for (const root of roots) walk(root);
