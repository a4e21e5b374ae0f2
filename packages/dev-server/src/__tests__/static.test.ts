import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { rawGet, startServer } from './helpers';

let site: string;
let bundles: string;

beforeAll(() => {
  const top = mkdtempSync(join(tmpdir(), 'tabbus-static-'));
  writeFileSync(join(top, 'secret.txt'), 'TOP SECRET');
  site = join(top, 'site');
  bundles = join(top, 'bundles');
  mkdirSync(join(site, 'chat'), { recursive: true });
  mkdirSync(bundles);
  writeFileSync(join(site, 'index.html'), '<h1>demo</h1>');
  writeFileSync(join(site, 'chat', 'index.html'), '<h1>chat</h1>');
  writeFileSync(join(site, 'style.css'), 'body{}');
  writeFileSync(join(site, 'ting.ogg'), 'OggS');
  writeFileSync(join(bundles, 'core.mjs'), 'export {}');
});

const roots = () => ({ '/': site, '/dist/core/': bundles });

describe('static files', () => {
  it('serves files with their content type, never cached; / and directories serve index.html', async () => {
    const server = await startServer({ staticRoots: roots() });
    const index = await fetch(server.url + '/');
    expect(index.status).toBe(200);
    expect(index.headers.get('content-type')).toMatch(/^text\/html/);
    expect(index.headers.get('cache-control')).toBe('no-store');
    expect(await index.text()).toBe('<h1>demo</h1>');
    expect(await (await fetch(server.url + '/chat/')).text()).toBe('<h1>chat</h1>');
    expect((await fetch(server.url + '/style.css')).headers.get('content-type')).toMatch(/^text\/css/);
    expect((await fetch(server.url + '/ting.ogg')).headers.get('content-type')).toBe('audio/ogg');
    const bundle = await fetch(server.url + '/dist/core/core.mjs');
    expect(bundle.headers.get('content-type')).toMatch(/^text\/javascript/);
    expect(await bundle.text()).toBe('export {}');
    expect(server.stats().requests['static']).toBe(5);
  });

  it('answers 404 on unknown paths instead of the index', async () => {
    const server = await startServer({ staticRoots: roots() });
    for (const path of ['/nope.html', '/chat/nope', '/dist/core/missing.mjs', '/dist/odoo/x.mjs']) {
      const reply = await fetch(server.url + path);
      expect(reply.status, path).toBe(404);
      expect(await reply.text()).not.toContain('demo');
    }
  });

  it('refuses every path that climbs out of the root', async () => {
    const server = await startServer({ staticRoots: roots() });
    for (const path of ['/../secret.txt', '/%2e%2e/secret.txt', '/..%2fsecret.txt', '/chat/..%2f..%2fsecret.txt', '/dist/core/..%2f..%2fsecret.txt', '/%00', '/%E0%A4%A']) {
      const reply = await rawGet(server, path);
      expect(reply.status, path).toBe(404);
      expect(reply.body).not.toContain('TOP SECRET');
    }
  });

  it('serves GET and HEAD only', async () => {
    const server = await startServer({ staticRoots: roots() });
    const head = await fetch(server.url + '/style.css', { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(head.headers.get('content-length')).toBe('6');
    expect((await fetch(server.url + '/style.css', { method: 'POST', body: 'x' })).status).toBe(404);
  });
});
