// A fault-injecting proxy in front of the real S3 server: it forwards every request, except that the
// ones a test picks are answered 503 SlowDown, have their connection closed or stalled after some body
// bytes, or are held until the test lets them through.
import {
  createServer,
  request as httpRequest,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http';
import type { AddressInfo } from 'node:net';
import { s3Env } from './s3.js';

/**
 * What happens to one request: forwarded, refused with 503 SlowDown, its body cut after N bytes, its
 * body stalled after N bytes (the connection stays open, silent), or held.
 */
export type Fault =
  | 'forward'
  | 'slowdown'
  | { dropAfterBytes: number }
  | { stallAfterBytes: number }
  | { holdUntil: Promise<void> };

export interface Proxy {
  url: string;
  /** Requests seen so far. */
  requests(): number;
  close(): void;
}

/** `fault` is asked for each request, numbered from 1. */
export async function faultyProxy(
  fault: (request: number, req: IncomingMessage) => Fault = () => 'forward',
  port = 0,
): Promise<Proxy> {
  let count = 0;
  const server: Server = createServer((req, res) => {
    const what = fault(++count, req);
    if (what === 'slowdown') {
      req.resume();
      req.on('end', () => {
        res.writeHead(503, { 'content-type': 'application/xml' });
        res.end('<Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message></Error>');
      });
      return;
    }
    if (what === 'forward') forwardToS3(req, res);
    else if ('holdUntil' in what) void what.holdUntil.then(() => forwardToS3(req, res));
    else if ('stallAfterBytes' in what) forwardToS3(req, res, what.stallAfterBytes, { stall: true });
    else forwardToS3(req, res, what.dropAfterBytes);
  });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    requests: () => count,
    close: () => {
      server.close();
      server.closeAllConnections();
    },
  };
}

/**
 * Forwards to the real server; after `limit` body bytes the connection is closed, mid-body (a reset
 * would be racier: the client's kernel may throw away what it received and had not read yet), or with
 * `stall` left open with nothing more sent.
 */
export function forwardToS3(
  req: IncomingMessage,
  res: ServerResponse,
  limit = Infinity,
  { stall = false } = {},
): void {
  const upstream = new URL(s3Env().endpoint);
  const forward = httpRequest(
    { host: upstream.hostname, port: upstream.port, path: req.url, method: req.method, headers: req.headers },
    (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      if (limit === Infinity) return void answer.pipe(res);
      let sent = 0;
      answer.on('data', (chunk: Buffer) => {
        const room = limit - sent;
        if (room > 0) res.write(chunk.subarray(0, room));
        sent += chunk.length;
        if (sent >= limit) {
          answer.destroy();
          if (!stall) res.socket?.destroySoon();
        }
      });
      answer.on('end', () => res.end());
    },
  );
  forward.on('error', () => res.destroy());
  req.pipe(forward);
}

/** One request a counting proxy saw, with the body bytes of its response. */
export interface Seen {
  method: string;
  url: string;
  range: string | undefined;
  bytes: number;
}

export interface CountingProxy {
  url: string;
  seen: Seen[];
  server: Server;
}

/** A proxy in front of the real server that records each request and the body bytes of its response. */
export async function countingProxy(): Promise<CountingProxy> {
  const seen: Seen[] = [];
  const server = createServer((req, res) => {
    const entry: Seen = { method: req.method!, url: req.url!, range: req.headers.range, bytes: 0 };
    seen.push(entry);
    const write = res.write.bind(res) as (chunk: Buffer, ...rest: unknown[]) => boolean;
    res.write = ((chunk: Buffer, ...rest: unknown[]) => {
      entry.bytes += chunk.length;
      return write(chunk, ...rest);
    }) as typeof res.write;
    forwardToS3(req, res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, seen, server };
}
