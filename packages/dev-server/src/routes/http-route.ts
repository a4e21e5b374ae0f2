// A plain HTTP route (not JSON-RPC): the health check and the dev-only /tabbus/* routes.
import type { IncomingMessage, ServerResponse } from 'node:http';

export interface HttpRoute {
  readonly path: string;
  /** Methods served; HEAD is served wherever GET is. Others get 405. */
  readonly methods: readonly ('GET' | 'POST' | 'DELETE')[];
  handle(req: IncomingMessage, res: ServerResponse): void | Promise<void>;
}
