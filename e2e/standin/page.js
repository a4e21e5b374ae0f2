// What Odoo does before a page's bus client runs, for the stand-in pages: the user is logged in, and the
// page carries its session info (plus what the tabbus_bus addon adds to it, `tabbus`, from the
// ir.config_parameter settings; here from the URL). Then the scripts load in bundle order.
export const params = new URLSearchParams(location.search);

async function rpc(route, body = {}) {
  const response = await fetch(route, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ jsonrpc: '2.0', method: 'call', params: body }) });
  const reply = await response.json();
  if (reply.error) throw new Error(reply.error.data?.message || reply.error.message);
  return reply.result;
}

export async function sessionInfo() {
  const login = params.get('login') ?? 'admin';
  let info;
  try {
    info = await rpc('/web/session/get_session_info');
  } catch {
    // Not logged in yet.
  }
  if (info?.username !== login) {
    const { db } = await (await fetch('/tabbus/stats')).json();
    info = await rpc('/web/session/authenticate', { db, login, password: login });
  }
  // ?serverVersion=20 plays a server of a series the adapters do not know; ?serverVersion=none a page whose
  // session info names no version (Odoo's frontend pages: the website, the login page).
  if (params.get('serverVersion') === 'none') info = { ...info, server_version_info: undefined };
  else if (params.has('serverVersion')) info = { ...info, server_version_info: [Number(params.get('serverVersion')), 0, 0, 'final', 0, ''] };
  const tabbus = {};
  if (params.has('hiddenPace')) tabbus.hidden_pace = Number(params.get('hiddenPace'));
  if (params.has('websocket')) tabbus.websocket = params.get('websocket');
  return { ...info, tabbus };
}

export function loadScript(src) {
  return new Promise((resolve, reject) => {
    const script = document.createElement('script');
    script.src = src;
    script.onload = resolve;
    script.onerror = () => reject(new Error(`could not load ${src}`));
    document.head.append(script);
  });
}

/** The addon's files for a series, as the build lays them out (dist/addon/<series>/tabbus_bus). */
export const addonFile = (series, path) => `/dist/odoo/addon/${series}/tabbus_bus/static/${path}`;
