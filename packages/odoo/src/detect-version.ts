import { TabBusError } from '@tabbus/core';
import { callJsonRpc, REQUEST_TIMEOUT, timeLimit } from './jsonrpc';
import { NEWEST, OLDEST, type OdooVersion } from './versions';

/**
 * Which Odoo answers at `serverUrl`, for `version: 'auto'`: `/web/webclient/version_info` (every version,
 * no login needed) gives the major version; `/websocket/health` (16+) says whether the socket route
 * exists, which decides when the version route is missing or unreadable. Both are asked at once; neither
 * is waited for longer than {@link REQUEST_TIMEOUT}.
 */
export async function detectVersion(request: { fetch: typeof fetch; serverUrl: string; credentials: RequestCredentials }): Promise<OdooVersion> {
  const { serverUrl, credentials } = request;
  const limit = timeLimit(REQUEST_TIMEOUT);
  // Never rejects: no answer (in time) is a status of its own (the error below says it).
  const health = request.fetch(`${serverUrl}/websocket/health`, { credentials, signal: limit.signal }).then(
    (response) => response.status,
    () => 'no answer' as const,
  );
  // The reply, or the error it failed with (which has no server_version_info).
  const info = await callJsonRpc({ ...request, url: `${serverUrl}/web/webclient/version_info`, params: {} }).catch((error: unknown) => error);
  const first = (info as { server_version_info?: unknown[] } | null)?.server_version_info?.[0];
  // Odoo Online's releases between two majors name theirs `'saas~18'` (then 4 for saas~18.4): that major's bus.
  const major = typeof first === 'string' ? Number(first.replace('saas~', '')) : first;
  // Known: the health route's answer is not waited for (nor is its request kept).
  const healthStatus = Number.isInteger(major) && (major as number) >= OLDEST ? 0 : await health;
  limit.end();
  if (!healthStatus) return Math.min(major as number, NEWEST) as OdooVersion;
  if (healthStatus === 200) return 17;
  if (healthStatus === 404) return 15;
  throw new TabBusError('network', `${serverUrl || 'this origin'}: could not tell which Odoo version answers (set the \`version\` option)`, {
    context: { versionInfo: info instanceof TabBusError ? info.code : 'no version', health: healthStatus },
  });
}
