/**
 * Serves the operator console: the page (`/`), its compiled ES modules (`/assets/app/*.js`, built
 * from hub/console/src by `npm run build`) and uPlot from node_modules (`/assets/uplot/*`). Only
 * files listed at start are served (no path from the request reaches the file system).
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const page = readFileSync(new URL('../console/index.html', import.meta.url), 'utf8');
const style = readFileSync(new URL('../console/console.css', import.meta.url), 'utf8');

/** Compiled modules sit next to this file under dist/; from source (tests) they are in the build's dist/. */
function appDir(): string | undefined {
  for (const u of ['../console/js/', '../../dist/hub/console/js/']) {
    const p = fileURLToPath(new URL(u, import.meta.url));
    if (existsSync(p)) return p;
  }
  return undefined;
}

function uplotDir(): string {
  return dirname(createRequire(import.meta.url).resolve('uplot'));
}

const TYPES: Record<string, string> = { '.js': 'text/javascript; charset=utf-8', '.css': 'text/css; charset=utf-8', '.map': 'application/json' };

function listing(dir: string | undefined, pick: (name: string) => boolean): Map<string, string> {
  const files = new Map<string, string>();
  if (!dir) return files;
  for (const name of readdirSync(dir)) if (pick(name)) files.set(name, join(dir, name));
  return files;
}

export async function consoleRoutes(app: FastifyInstance): Promise<void> {
  const appFiles = listing(appDir(), (n) => n.endsWith('.js') || n.endsWith('.js.map'));
  const uplot = listing(uplotDir(), (n) => n === 'uPlot.esm.js' || n === 'uPlot.min.css');
  // Every module preloaded at once: without it the browser finds them one import level at a time.
  const preload = [...[...appFiles.keys()].filter((n) => n.endsWith('.js')).map((n) => `/assets/app/${n}`), '/assets/uplot/uPlot.esm.js']
    .map((href) => `<link rel="modulepreload" href="${href}">`)
    .join('\n');
  const body = appFiles.size > 0 ? page.replace('<!--preload-->', preload) : page.replace('<!--missing-->', '<p class="banner error">The console was not built: run npm run build.</p>');
  const html = (_req: unknown, reply: FastifyReply) => reply.type('text/html; charset=utf-8').header('cache-control', 'no-store').send(body);
  app.get('/', html);
  app.get('/console.css', async (_req, reply) => reply.type(TYPES['.css']!).send(style));
  const serve = (files: Map<string, string>) => async (req: FastifyRequest<{ Params: { file: string } }>, reply: FastifyReply) => {
    const path = files.get(req.params.file);
    if (!path) return reply.code(404).send({ error: 'HUB_CONSOLE_NO_ASSET', message: `no console asset '${req.params.file}'` });
    const ext = req.params.file.slice(req.params.file.lastIndexOf('.'));
    return reply.type(TYPES[ext] ?? 'application/octet-stream').header('cache-control', 'no-cache').send(readFileSync(path));
  };
  app.get('/assets/app/:file', serve(appFiles));
  app.get('/assets/uplot/:file', serve(uplot));
}
