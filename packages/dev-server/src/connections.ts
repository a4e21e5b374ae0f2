// Knows which sockets are between requests, so close() can end them at once. Node's own
// closeIdleConnections() misses sockets that never sent a request, and fetch (undici) opens
// such a spare socket right after a request is aborted: without this, close() would wait for
// the client to give up on it.
import type { Server } from 'node:http';
import type { Socket } from 'node:net';

export class ConnectionTracker {
  // socket → requests in flight on it.
  readonly #sockets = new Map<Socket, number>();
  #closing = false;

  constructor(server: Server) {
    server.on('connection', (socket: Socket) => {
      this.#sockets.set(socket, 0);
      socket.once('close', () => this.#sockets.delete(socket));
    });
    server.on('request', (req, res) => {
      const socket = req.socket;
      this.#sockets.set(socket, (this.#sockets.get(socket) ?? 0) + 1);
      res.once('close', () => {
        const left = (this.#sockets.get(socket) ?? 1) - 1;
        this.#sockets.set(socket, left);
        // While closing, a socket ends with its last reply instead of waiting for another request.
        if (this.#closing && left === 0) socket.end();
      });
    });
  }

  /** Stops tracking a socket taken over by a WebSocket upgrade: the WebSocket code closes it. */
  release(socket: Socket): void {
    this.#sockets.delete(socket);
  }

  /** From now on every socket closes as soon as it has no request in flight. */
  closeIdle(): void {
    this.#closing = true;
    for (const [socket, inFlight] of this.#sockets) if (inFlight === 0) socket.destroy();
  }
}
