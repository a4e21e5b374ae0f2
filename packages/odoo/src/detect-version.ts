import { TabBusError } from '@tabbus/core';
import { callJsonRpc } from './jsonrpc';
import type { OdooVersion } from './versions';

/** The newest and oldest versions tabbus speaks: a newer server is spoken to as the newest. */
const NEWEST = 19;
const OLDEST = 8;

/**
 * Which Odoo answers at `serverUrl`, for `version: 'auto'`: `/web/webclient/version_info` (every version,
 * no login needed) gives the major version; `/websocket/health` (16+) says whether the socket route
 * exists, which decides when the version route is missing or unreadable. Both are asked at once.
 */
export async function detectVersion(request: { fetch: typeof fetch; serverUrl: string; credentials: RequestCredentials }): Promise<OdooVersion> {
  const { serverUrl, credentials } = request;
  const [info, health] = await Promise.allSettled([
    callJsonRpc({ ...request, url: `${serverUrl}/web/webclient/version_info`, params: {} }),
    // Never rejects: no answer is a status of its own (the error below says it).
    request.fetch(`${serverUrl}/websocket/health`, { credentials }).then(
      (response) => response.status,
      () => 'no answer' as const,
    ),
  ]);
  const healthStatus = (health as PromiseFulfilledResult<number | 'no answer'>).value;
  const first = info.status === 'fulfilled' ? (info.value as { server_version_info?: unknown[] } | null)?.server_version_info?.[0] : undefined;
  // Odoo Online's releases between two majors name theirs `'saas~18'` (then 4 for saas~18.4): that major's bus.
  const major = typeof first === 'string' ? Number(first.replace('saas~', '')) : first;
  // Number.isInteger is false for what is no number.
  if (Number.isInteger(major) && (major as number) >= OLDEST) return Math.min(major as number, NEWEST) as OdooVersion;
  if (healthStatus === 200) return 17;
  if (healthStatus === 404) return 15;
  throw new TabBusError('network', `${serverUrl || 'this origin'}: could not tell which Odoo version answers (set the \`version\` option)`, {
    context: { versionInfo: info.status, health: healthStatus },
  });
}
