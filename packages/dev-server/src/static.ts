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

export interface StaticFiles {
  /** The served roots, longest prefix first. */
  readonly roots: readonly Root[];
  /** Serves the request if a file matches; resolves false (nothing written) otherwise. */
  serve(req: IncomingMessage, res: ServerResponse, pathname: string): Promise<boolean>;
}

export function createStaticFiles(mapping: Readonly<Record<string, string>>): StaticFiles {
  const roots: Root[] = Object.entries(mapping)
    .map(([prefix, dir]) => {
      if (!prefix.startsWith('/')) throw new TypeError(`staticRoots: the URL prefix "${prefix}" must start with "/"`);
      return { prefix: prefix.endsWith('/') ? prefix : `${prefix}/`, dir: resolve(dir) };
    })
    .sort((a, b) => b.prefix.length - a.prefix.length);

  async function serve(req: IncomingMessage, res: ServerResponse, pathname: string): Promise<boolean> {
    if (req.method !== 'GET' && req.method !== 'HEAD') return false;
    const root = roots.find((r) => pathname.startsWith(r.prefix));
    if (!root) return false;
    let relative: string;
    try {
      relative = decodeURIComponent(pathname.slice(root.prefix.length));
    } catch {
      return false; // malformed %-escape: no such file
    }
    if (relative.includes('\0')) return false;
    let file = resolve(root.dir, `.${sep}${relative}`);
    // The traversal guard: the resolved path must stay inside the root directory.
    if (file !== root.dir && !file.startsWith(root.dir + sep)) return false;
    let info = await stat(file).catch(() => undefined);
    if (info?.isDirectory()) {
      file = join(file, 'index.html');
      info = await stat(file).catch(() => undefined);
    }
    if (!info?.isFile()) return false;
    if (!canWrite(res)) return true;
    res.writeHead(200, {
      'Content-Type': CONTENT_TYPES[extname(file).toLowerCase()] ?? 'application/octet-stream',
      'Content-Length': info.size,
      'Cache-Control': 'no-store',
    });
    if (req.method === 'HEAD') {
      res.end();
      return true;
    }
    await new Promise<void>((done) => {
      const stream = createReadStream(file);
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
    return true;
  }

  return { roots, serve };
}
