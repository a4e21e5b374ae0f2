import { existsSync } from 'node:fs';

/**
 * How every Playwright config of this repository runs Chromium: the system one (Debian's `chromium`)
 * unless CHROMIUM_PATH says otherwise; where neither exists, Playwright's own browser (for machines that
 * can run `playwright install`). Headless, with no background traffic of its own.
 */
export function chromiumUse() {
  const systemChromium = ['/usr/bin/chromium', '/usr/lib/chromium/chromium', '/usr/bin/chromium-browser'].find((p) => existsSync(p));
  const executablePath = process.env.CHROMIUM_PATH ?? systemChromium;
  return {
    browserName: 'chromium' as const,
    headless: true,
    launchOptions: {
      ...(executablePath ? { executablePath } : {}),
      args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    },
  };
}

/**
 * Runs in the page, before its scripts (Playwright's `addInitScript`, puppeteer's `evaluateOnNewDocument`):
 * every page starts visible and `window.__setVisibility('hidden' | 'visible')` changes that, with the
 * `visibilitychange` event. Headless Chromium calls every page visible and headless Firefox every background
 * tab hidden; the tests decide instead. Self-contained: it is sent to the page as source.
 */
export function visibilityControl(): void {
  let vis: DocumentVisibilityState = 'visible';
  Object.defineProperty(Document.prototype, 'visibilityState', { configurable: true, get: () => vis });
  Object.defineProperty(Document.prototype, 'hidden', { configurable: true, get: () => vis === 'hidden' });
  (window as unknown as { __setVisibility(v: DocumentVisibilityState): void }).__setVisibility = (v) => {
    if (v !== vis) {
      vis = v;
      document.dispatchEvent(new Event('visibilitychange'));
    }
  };
}
