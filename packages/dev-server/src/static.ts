// Static files for the demo and the e2e pages: URL prefix → directory. GET/HEAD only, never
// cached (the bundles change on every build), and never outside the mapped directory.
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { extname, join, resolve, sep } from 'node:path';
import { canWrite } from './http';

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.cjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.ogg': 'audio/ogg',
  '.mp3': 'audio/mpeg',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.txt': 'text/plain; charset=utf-8',
};

interface Root {
  /** Always ends with "/". */
  readonly prefix: string;
  /** Absolute directory. */
  readonly dir: string;
}

/** A file found under a static root. */
export interface StaticFile {
  readonly path: string;
  readonly size: number;
}

export interface StaticFiles {
  /** The served roots, longest prefix first. */
  readonly roots: readonly Root[];
  /** The file a GET/HEAD of `pathname` serves, if any (directories serve their index.html). */
  find(req: IncomingMessage, pathname: string): Promise<StaticFile | undefined>;
  /** Writes the file as the reply. */
  send(req: IncomingMessage, res: ServerResponse, file: StaticFile): Promise<void>;
}

export function createStaticFiles(mapping: Readonly<Record<string, string>>): StaticFiles {
  const roots: Root[] = Object.entries(mapping)
    .map(([prefix, dir]) => {
      if (!prefix.startsWith('/')) throw new TypeError(`staticRoots: the URL prefix "${prefix}" must start with "/"`);
      return { prefix: prefix.endsWith('/') ? prefix : `${prefix}/`, dir: resolve(dir) };
    })
    .sort((a, b) => b.prefix.length - a.prefix.length);

  async function find(req: IncomingMessage, pathname: string): Promise<StaticFile | undefined> {
    if (req.method !== 'GET' && req.method !== 'HEAD') return undefined;
    const root = roots.find((r) => pathname.startsWith(r.prefix));
    if (!root) return undefined;
    let relative: string;
    try {
      relative = decodeURIComponent(pathname.slice(root.prefix.length));
    } catch {
      return undefined; // malformed %-escape: no such file
    }
    if (relative.includes('\0')) return undefined;
    let path = resolve(root.dir, `.${sep}${relative}`);
    // The traversal guard: the resolved path must stay inside the root directory.
    if (path !== root.dir && !path.startsWith(root.dir + sep)) return undefined;
    let info = await stat(path).catch(() => undefined);
    if (info?.isDirectory()) {
      path = join(path, 'index.html');
      info = await stat(path).catch(() => undefined);
    }
    return info?.isFile() ? { path, size: info.size } : undefined;
  }

  async function send(req: IncomingMessage, res: ServerResponse, file: StaticFile): Promise<void> {
    if (!canWrite(res)) return;
    res.writeHead(200, {
      'Content-Type': CONTENT_TYPES[extname(file.path).toLowerCase()] ?? 'application/octet-stream',
      'Content-Length': file.size,
      'Cache-Control': 'no-store',
    });
    if (req.method === 'HEAD') {
      res.end();
      return;
    }
    await new Promise<void>((done) => {
      const stream = createReadStream(file.path);
      // A read error after the headers went out can only cut the reply short.
      stream.on('error', () => {
        res.destroy();
        done();
      });
      res.on('close', () => {
        stream.destroy();
        done();
      });
      stream.pipe(res);
    });
  }

  return { roots, find, send };
}
