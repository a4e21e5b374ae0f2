/** How to reach Odoo, as the JSON-RPC helpers take it: {@link serverOf} fills in the defaults. */
export interface Server {
  /** Origin and optional path prefix, without a trailing slash ('' = this page's origin). */
  readonly serverUrl: string;
  /** What the server's tabs share (the session news, the scope): `serverUrl`, or this page's origin. */
  readonly origin: string;
  readonly credentials: RequestCredentials;
  readonly fetch: typeof fetch;
}

/** `serverUrl`, or this page's origin when it is '' ('' where there is no page). */
export const originOf = (serverUrl: string): string => serverUrl || (typeof location === 'undefined' ? '' : location.origin);

/** The defaults of the options `authenticate`, `logout` and `createOdooBus` share: this page's origin, `same-origin` cookies, the global fetch. */
export const serverOf = (options: { serverUrl?: string; credentials?: RequestCredentials; fetch?: typeof fetch }): Server => {
  const serverUrl = (options.serverUrl ?? '').replace(/\/+$/, '');
  return {
    serverUrl,
    origin: originOf(serverUrl),
    credentials: options.credentials ?? 'same-origin',
    fetch: options.fetch ?? ((input: RequestInfo | URL, init?: RequestInit) => globalThis.fetch(input, init)),
  };
};
