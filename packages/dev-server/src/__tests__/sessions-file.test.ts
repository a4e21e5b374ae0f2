import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createDevServer } from '../server';
import { SessionsFileError } from '../sessions-file';
import { login, postJson, rpc, rpcOnNewConnection, startServer } from './helpers';

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'tabbus-sessions-'));
  dirs.push(dir);
  return dir;
}

const readFile = (path: string): unknown => JSON.parse(readFileSync(path, 'utf8'));

describe('sessionsFile: sessions that survive a restart', () => {
  it('a logged-in cookie is still logged in after the server is closed and started again on the same port', async () => {
    const file = join(tempDir(), 'sessions.json');
    const first = await startServer({ sessionsFile: file, odoo: 14 });
    const admin = await login(first, 'admin');
    const demo = await login(first, 'demo');
    const port = first.port;
    await first.close();

    const second = await startServer({ sessionsFile: file, odoo: 14, port });
    for (const [sessionId, uid] of [[admin, 2], [demo, 6]] as const) {
      const info = await rpcOnNewConnection(second.url, '/web/session/get_session_info', {}, sessionId);
      expect(info.body.error).toBeUndefined();
      expect(info.body.result).toMatchObject({ uid });
      expect(info.sessionId).toBe(sessionId);
    }
    // The poll keeps the cookie too, instead of handing out a public session.
    const poll = await rpcOnNewConnection(second.url, '/longpolling/poll', { channels: [], last: 0, options: { peek: true } }, admin);
    expect(poll.sessionId).toBe(admin);
  });

  it('keeps each session’s database: written only when it is not the first; a database no longer served drops it', async () => {
    const file = join(tempDir(), 'sessions.json');
    const first = await startServer({ sessionsFile: file, databases: ['other'] });
    const main = await login(first, 'admin');
    const other = (await rpc(first, '/web/session/authenticate', { db: 'other', login: 'demo', password: 'demo' })).sessionId!;
    expect(readFile(file)).toEqual({
      version: 1,
      sessions: [
        { id: main, uid: 2, login: 'admin' },
        { id: other, uid: 6, login: 'demo', db: 'other' },
      ],
    });
    const port = first.port;
    await first.close();
    const second = await startServer({ sessionsFile: file, databases: ['other'], port });
    const info = await rpcOnNewConnection(second.url, '/web/session/get_session_info', {}, other);
    expect(info.body.result).toMatchObject({ uid: 6, db: 'other' });
    await second.close();
    // Started without that database, the server forgets the session, as it forgets a deleted user's.
    const third = await startServer({ sessionsFile: file, port });
    expect(readFile(file)).toEqual({ version: 1, sessions: [{ id: main, uid: 2, login: 'admin' }] });
    expect((await rpcOnNewConnection(third.url, '/web/session/get_session_info', {}, main)).body.result).toMatchObject({ db: 'tabbus' });
  });

  it('stores only logged-in sessions, as {id, uid, login}, and rewrites the file on login, logout and expiry', async () => {
    const file = join(tempDir(), 'sessions.json');
    const server = await startServer({ sessionsFile: file });
    expect(readFile(file)).toEqual({ version: 1, sessions: [] });
    await rpc(server, '/longpolling/poll', { channels: [], last: 0, options: { peek: true } }); // a public session
    const admin = await login(server, 'admin');
    const demo = await login(server, 'demo');
    expect(readFile(file)).toEqual({
      version: 1,
      sessions: [
        { id: admin, uid: 2, login: 'admin' },
        { id: demo, uid: 6, login: 'demo' },
      ],
    });
    await rpc(server, '/web/session/destroy', {}, { sessionId: admin });
    expect(readFile(file)).toEqual({ version: 1, sessions: [{ id: demo, uid: 6, login: 'demo' }] });
    await postJson(server, '/tabbus/expire', {});
    expect(readFile(file)).toEqual({ version: 1, sessions: [] });
    // Written through a temporary file and a rename: nothing else is left in the directory.
    expect(readdirSync(join(file, '..'))).toEqual(['sessions.json']);
  });

  it('a missing or empty file means no sessions', async () => {
    const dir = tempDir();
    const empty = join(dir, 'empty.json');
    writeFileSync(empty, '');
    for (const file of [join(dir, 'missing.json'), empty]) {
      const server = await startServer({ sessionsFile: file });
      const info = await rpc(server, '/web/session/get_session_info', {}, { sessionId: 'a'.repeat(40) });
      expect(info.body.error.code).toBe(100);
      expect(readFile(file)).toEqual({ version: 1, sessions: [] });
    }
  });

  it('a corrupt file fails the start with a clear error naming the file', async () => {
    const dir = tempDir();
    const cases: [string, RegExp][] = [
      ['{"version":1,"sessions":[', /not JSON/],
      ['[]', /expected \{"version":1,"sessions":\[…\]\}/],
      ['{"version":2,"sessions":[]}', /expected \{"version":1/],
      ['{"version":1,"sessions":[{"id":"short","uid":2,"login":"admin"}]}', /session 0 is not \{id: <40 hex>/],
    ];
    for (const [index, [text, message]] of cases.entries()) {
      const file = join(dir, `bad-${index}.json`);
      writeFileSync(file, text);
      const start = createDevServer({ port: 0, sessionsFile: file });
      await expect(start).rejects.toThrow(SessionsFileError);
      await expect(start).rejects.toThrow(message);
      await expect(start).rejects.toThrow(file);
      expect(readFileSync(file, 'utf8')).toBe(text); // left alone for the user to look at
    }
  });

  it('a path that cannot be written fails the start, not the first login', async () => {
    const file = join(tempDir(), 'no-such-dir', 'sessions.json');
    await expect(createDevServer({ port: 0, sessionsFile: file })).rejects.toThrow(/cannot write it/);
  });

  it('a write that fails after the start goes to onError; the login still works from memory', async () => {
    const dir = tempDir();
    const file = join(dir, 'sessions.json');
    const errors: [unknown, string][] = [];
    const server = await startServer({ sessionsFile: file, onError: (error, where) => void errors.push([error, where]) });
    rmSync(dir, { recursive: true });
    const sessionId = await login(server);
    expect(errors).toHaveLength(1);
    expect(errors[0]![1]).toBe('sessions file');
    expect(errors[0]![0]).toBeInstanceOf(SessionsFileError);
    expect((await rpc(server, '/web/session/get_session_info', {}, { sessionId })).body.result.uid).toBe(2);
  });

  it('drops saved sessions of users that no longer exist', async () => {
    const file = join(tempDir(), 'sessions.json');
    const gone = 'b'.repeat(40);
    const kept = 'c'.repeat(40);
    writeFileSync(
      file,
      JSON.stringify({
        version: 1,
        sessions: [
          { id: gone, uid: 99, login: 'admin' },
          { id: kept, uid: 6, login: 'demo' },
        ],
      }),
    );
    const server = await startServer({ sessionsFile: file });
    expect((await rpc(server, '/web/session/get_session_info', {}, { sessionId: gone })).body.error.code).toBe(100);
    expect((await rpc(server, '/web/session/get_session_info', {}, { sessionId: kept })).body.result.uid).toBe(6);
    expect(readFile(file)).toEqual({ version: 1, sessions: [{ id: kept, uid: 6, login: 'demo' }] });
  });

  it('without sessionsFile a restart forgets every session', async () => {
    const first = await startServer();
    const admin = await login(first);
    await first.close();
    const second = await startServer({ port: first.port });
    expect((await rpcOnNewConnection(second.url, '/web/session/get_session_info', {}, admin)).body.error.code).toBe(100);
  });
});
