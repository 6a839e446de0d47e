/**
 * Serves the hub's TUF repository (hub/registry) read-only, in its own layout, so an edge's
 * `updateFrom(store, 'http://hub:8080/tuf/')` fetches what `bundle export` would copy:
 *
 *   GET /tuf/metadata/*     GET /tuf/targets/*     GET /tuf/assignments/*
 *
 * Only plain path segments are served: `..`, `.`, empty segments, backslashes and NUL are
 * refused (400 HUB_API_BAD_PATH), as is anything resolving outside the directory (also through a
 * symlink); a missing file is 404 HUB_API_NOT_FOUND (tuf-js reads a 404 as the end of the root chain).
 * Files are not cached: timestamp.json changes in place.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { createReadStream, realpathSync, statSync } from 'node:fs';
import { resolve, sep } from 'node:path';

export interface TufRoutesOptions {
  /** The repository directory (config `registry.dir`). */
  dir: string;
}

export const TUF_PREFIX = '/tuf';
const AREAS = ['metadata', 'targets', 'assignments'] as const;

function badPath(rel: string): boolean {
  return rel.split('/').some((s) => s === '' || s === '.' || s === '..' || s.includes('\\') || s.includes('\0'));
}

export async function tufRoutes(app: FastifyInstance, options: TufRoutesOptions): Promise<void> {
  const root = resolve(options.dir);
  for (const area of AREAS) {
    app.get(`${TUF_PREFIX}/${area}/*`, async (req: FastifyRequest<{ Params: { '*': string } }>, reply: FastifyReply) => {
      const rel = `${area}/${req.params['*']}`;
      if (badPath(rel)) return reply.code(400).send({ error: 'HUB_API_BAD_PATH', message: `'${rel}' is not a repository path (no '..', '.', empty segments or backslashes)` });
      let file: string;
      try {
        file = realpathSync(resolve(root, rel));
        if (!file.startsWith(realpathSync(root) + sep) || !statSync(file).isFile()) throw new Error('not a file in the repository');
      } catch {
        return reply.code(404).send({ error: 'HUB_API_NOT_FOUND', message: `${rel} is not in the repository` });
      }
      return reply
        .header('cache-control', 'no-store')
        .type(area === 'targets' ? 'application/octet-stream' : 'application/json')
        .send(createReadStream(file));
    });
  }
}
