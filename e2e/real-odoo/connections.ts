// The bus connections a browser holds, as the browser itself reports them: open WebSockets to `/websocket`
// (Odoo 16+; Playwright reports a dedicated Worker's sockets with its page's) and long-polls to
// `/longpolling/poll` in flight (15). Counted per tab, so a closed or crashed tab's connections go with it.
import type { Page, Request, WebSocket } from '@playwright/test';

export class Connections {
  readonly #open = new Map<Page, Set<WebSocket | Request>>();

  watch(page: Page): void {
    const open = new Set<WebSocket | Request>();
    this.#open.set(page, open);
    page.on('websocket', (ws) => {
      if (!/\/websocket(\?|$)/.test(ws.url())) return;
      open.add(ws);
      ws.on('close', () => open.delete(ws));
    });
    page.on('request', (request) => {
      if (new URL(request.url()).pathname.endsWith('/longpolling/poll')) open.add(request);
    });
    page.on('requestfinished', (request) => open.delete(request));
    page.on('requestfailed', (request) => open.delete(request));
    const gone = () => this.#open.delete(page);
    page.on('close', gone);
    page.on('crash', gone);
  }

  /** Connections held now, by all tabs together. */
  count(): number {
    let n = 0;
    for (const open of this.#open.values()) n += open.size;
    return n;
  }

  /** The tabs that hold a connection now. */
  holders(): Page[] {
    return [...this.#open].filter(([, open]) => open.size > 0).map(([page]) => page);
  }
}
