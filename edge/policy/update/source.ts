/**
 * Where an update comes from: an HTTP(S) base URL or a local directory (removable media). Both
 * are tuf-js fetchers (BaseFetcher: the length cap on every download is tuf-js's), so the TUF
 * client runs exactly the same code on either; only `fetch(url)` differs.
 */
import { createReadStream, existsSync, readdirSync, realpathSync, statSync } from 'node:fs';
import { join, resolve, sep } from 'node:path';
import { Readable } from 'node:stream';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { BaseFetcher } from 'tuf-js';
// Not re-exported by tuf-js's index, yet the Updater needs this class (404) to see the end of the root chain.
import { DownloadHTTPError } from 'tuf-js/dist/error.js';
import { METADATA_DIR, TARGETS_DIR, rootVersionOf } from '../../../protocols/tuf/index.js';

export interface UpdateSource {
  /** Base URL ending in '/', of the repository layout's root. */
  baseUrl: string;
  fetcher: BaseFetcher;
  /** Root versions the source carries, when it can list them (directories can, HTTP cannot). */
  rootVersions(): number[] | undefined;
  /** For messages. */
  describe: string;
}

/** Files of a local directory, never outside it; a missing file is a 404 as tuf-js expects. */
class DirectoryFetcher extends BaseFetcher {
  constructor(private readonly root: string) {
    super();
  }
  override async fetch(url: string): Promise<NodeJS.ReadableStream> {
    const path = resolve(fileURLToPath(url));
    if (!path.startsWith(this.root + sep)) throw new DownloadHTTPError(`${url} is outside the source directory`, 403);
    if (!existsSync(path) || !statSync(path).isFile()) throw new DownloadHTTPError(`${path.slice(this.root.length + 1)} is not on the source`, 404);
    return createReadStream(path);
  }
}

/** HTTP(S) with Node's fetch and a deadline per request. */
class HttpFetcher extends BaseFetcher {
  constructor(private readonly timeoutMs: number) {
    super();
  }
  override async fetch(url: string): Promise<NodeJS.ReadableStream> {
    const res = await fetch(url, { signal: AbortSignal.timeout(this.timeoutMs), redirect: 'error' });
    if (!res.ok || !res.body) throw new DownloadHTTPError(`Failed to download ${url}: HTTP ${res.status}`, res.status);
    return Readable.fromWeb(res.body as import('node:stream/web').ReadableStream<Uint8Array>);
  }
}

/** An http(s):// URL or a directory path. */
export function openSource(source: string, options?: { fetchTimeoutMs?: number }): UpdateSource {
  if (/^https?:\/\//i.test(source)) {
    const baseUrl = source.endsWith('/') ? source : `${source}/`;
    return { baseUrl, fetcher: new HttpFetcher(options?.fetchTimeoutMs ?? 30_000), rootVersions: () => undefined, describe: baseUrl };
  }
  const root = existsSync(source) ? realpathSync(resolve(source)) : resolve(source);
  return {
    baseUrl: pathToFileURL(root + sep).href,
    fetcher: new DirectoryFetcher(root),
    rootVersions: () => {
      const dir = join(root, METADATA_DIR);
      if (!existsSync(dir)) return [];
      return readdirSync(dir)
        .map(rootVersionOf)
        .filter((v): v is number => v !== undefined)
        .sort((a, b) => a - b);
    },
    describe: root,
  };
}

export function metadataUrl(source: UpdateSource): string {
  return `${source.baseUrl}${METADATA_DIR}/`;
}
export function targetsUrl(source: UpdateSource): string {
  return `${source.baseUrl}${TARGETS_DIR}/`;
}

/** The first root version missing between `trusted + 1` and the highest the source lists; undefined when none is. */
export function missingRootVersion(trusted: number, listed: readonly number[]): { missing: number; highest: number } | undefined {
  const above = new Set(listed.filter((v) => v > trusted));
  const highest = Math.max(trusted, ...above);
  for (let v = trusted + 1; v < highest; v++) if (!above.has(v)) return { missing: v, highest };
  return undefined;
}
