/** Serves the operator console's static page. */
import type { FastifyInstance } from 'fastify';
import { readFileSync } from 'node:fs';

const page = readFileSync(new URL('../console/index.html', import.meta.url), 'utf8');

export async function consoleRoutes(app: FastifyInstance): Promise<void> {
  app.get('/', async (_req, reply) => reply.type('text/html; charset=utf-8').send(page));
}
