// /web/session/*: just enough of Odoo's web client login for a bus client: log in, ask who is
// logged in (the only way a long-polling client can notice an expired session), log out.
import type { ServerContext } from '../context';
import { accessDenied, requireParams } from '../jsonrpc';
import { serverVersion, serverVersionInfo, websocketWorkerVersion } from '../odoo-version';
import type { RpcRoute } from '../rpc-route';
import { sessionCookie, sessionIdFromCookie } from '../sessions';
import type { DevUser } from '../sessions';
import type { HttpRoute } from './http-route';

/**
 * The session info Odoo returns from authenticate and get_session_info (the fields a bus client reads).
 * `db`: the session's database (a server may serve several).
 */
export function sessionInfo(ctx: ServerContext, user: DevUser, db: string = ctx.db): Record<string, unknown> {
  return {
    uid: user.uid,
    is_system: user.isSystem ?? false,
    is_admin: user.isSystem ?? false,
    user_context: { lang: 'en_US', tz: 'Europe/Brussels', uid: user.uid },
    db,
    server_version: serverVersion(ctx.version),
    server_version_info: serverVersionInfo(ctx.version),
    name: user.name,
    username: user.login,
    partner_display_name: user.name,
    company_id: 1,
    partner_id: user.partnerId,
    // 17+: what the bus client sends back as `/websocket?version=`.
    ...(websocketWorkerVersion(ctx.version) === undefined ? {} : { websocket_worker_version: websocketWorkerVersion(ctx.version) }),
  };
}

export function sessionRoutes(ctx: ServerContext): RpcRoute[] {
  return [
    {
      path: '/web/session/authenticate',
      auth: 'none',
      handle(call) {
        requireParams('authenticate', call.params, ['db', 'login', 'password']);
        const { db, login, password } = call.params;
        const database = typeof db === 'string' && ctx.databases.includes(db) ? db : undefined;
        const user = database === undefined ? undefined : ctx.sessions.findUser(login, password);
        if (!user || database === undefined) throw accessDenied();
        // Odoo rotates the session on login: the old id is deleted (a socket of it closes 4001), whoever
        // it belonged to, and the browser's one cookie now names the new user's session.
        if (call.session) ctx.sessions.delete(call.session.id);
        const session = ctx.sessions.create(user, database);
        call.useSession(session);
        return sessionInfo(ctx, user, session.db);
      },
    },
    {
      path: '/web/session/get_session_info',
      // 8/9: `auth="none"`, and a session nobody is logged into answers its empty fields (`uid` and `db`
      // null); 10+ want a login (a session-expired error without one).
      auth: ctx.version <= 9 ? 'none' : 'user',
      handle(call) {
        const user = call.session?.user;
        if (!user) return { session_id: call.session?.id ?? null, uid: null, user_context: {}, db: null, username: null };
        return sessionInfo(ctx, user, call.session!.db);
      },
    },
    {
      // web's `version_info` (auth none): what `createOdooBus({version: 'auto'})` reads the major version from.
      path: '/web/webclient/version_info',
      auth: 'none',
      handle() {
        return { server_version: serverVersion(ctx.version), server_version_info: serverVersionInfo(ctx.version), server_serie: serverVersion(ctx.version), protocol_version: 1 };
      },
    },
    {
      path: '/web/session/destroy',
      auth: 'user',
      handle(call) {
        ctx.sessions.delete(call.session!.id);
        call.useSession(undefined);
        return null;
      },
    },
  ];
}

/**
 * `GET /web/session/logout?redirect=/web` (`type=http`, `auth=none`): where the web client's "Log out"
 * sends the browser on the versions that navigate away (the page unloads). Odoo runs
 * `session.logout(keep_db=True)`, which forgets the user and rotates the id, then redirects (303) to
 * `redirect`. Here: the session is deleted (its sockets close 4001), the browser gets a new public session
 * of the same database, and only a local path is followed (anything else goes to `/web`).
 */
export function logoutRoute(ctx: ServerContext): HttpRoute {
  return {
    path: '/web/session/logout',
    methods: ['GET'],
    handle(req, res) {
      const old = ctx.sessions.get(sessionIdFromCookie(req.headers.cookie));
      if (old) ctx.sessions.delete(old.id);
      const fresh = ctx.sessions.create(null, old?.db);
      const asked = new URL(req.url ?? '/', 'http://localhost').searchParams.get('redirect');
      const location = asked && asked.startsWith('/') && !asked.startsWith('//') ? asked : '/web';
      res.writeHead(303, { Location: location, 'Set-Cookie': sessionCookie(fresh.id), 'Content-Length': 0 });
      res.end();
    },
  };
}
