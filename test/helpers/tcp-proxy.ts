// A TCP proxy between the gateway and PostgreSQL that tests can break for real:
// reset every connection, refuse new ones, or swallow traffic (a black hole).
import net from 'node:net';

export type ProxyMode = 'pass' | 'reset' | 'blackhole';

/**
 * Splits the client-to-server PostgreSQL stream into messages and counts query
 * boundaries: a simple Query ('Q') or the Sync ('S') that ends an extended-protocol query;
 * and statement texts the server must parse: a simple Query or a Parse ('P'). A prepared
 * statement run again sends only Bind/Execute/Sync.
 */
class QueryCounter {
  private buf = Buffer.alloc(0);
  private started = false;

  /** Statement texts sent to be parsed so far. */
  parses = 0;

  /** Feeds a chunk; answers how many query boundaries it completed. */
  feed(chunk: Buffer): number {
    this.buf = Buffer.concat([this.buf, chunk]);
    let queries = 0;
    for (;;) {
      if (!this.started) {
        // The startup message has no type byte: int32 length, then the payload.
        if (this.buf.length < 4) return queries;
        const len = this.buf.readInt32BE(0);
        if (this.buf.length < len) return queries;
        this.buf = this.buf.subarray(len);
        this.started = true;
        continue;
      }
      if (this.buf.length < 5) return queries;
      const len = this.buf.readInt32BE(1);
      if (this.buf.length < 1 + len) return queries;
      const type = String.fromCharCode(this.buf[0]);
      if (type === 'Q' || type === 'S') queries++;
      if (type === 'Q' || type === 'P') this.parses++;
      this.buf = this.buf.subarray(1 + len);
    }
  }
}

export class TcpProxy {
  private server!: net.Server;
  private readonly sockets = new Set<net.Socket>();
  mode: ProxyMode = 'pass';
  port = 0;
  /** Query boundaries seen since the last armResetAtQuery(). */
  queries = 0;
  private resetAt: number | undefined;
  private readonly counters = new Set<QueryCounter>();

  /** Statement texts sent to be parsed, over every connection so far. */
  get parses(): number {
    let n = 0;
    for (const c of this.counters) n += c.parses;
    return n;
  }

  private constructor(private readonly target: { host: string; port: number }) {}

  static async start(target: { host: string; port: number }): Promise<TcpProxy> {
    const proxy = new TcpProxy(target);
    await proxy.listen(0);
    return proxy;
  }

  private listen(port: number): Promise<void> {
    this.server = net.createServer((client) => this.accept(client));
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, '127.0.0.1', () => {
        this.port = (this.server.address() as net.AddressInfo).port;
        resolve();
      });
    });
  }

  private track(s: net.Socket) {
    this.sockets.add(s);
    s.on('close', () => this.sockets.delete(s));
    s.on('error', () => {});
  }

  private accept(client: net.Socket) {
    this.track(client);
    if (this.mode === 'reset') return void client.resetAndDestroy();
    if (this.mode === 'blackhole') return; // accepted, never answered
    const upstream = net.connect(this.target.port, this.target.host);
    this.track(upstream);
    const counter = new QueryCounter();
    this.counters.add(counter);
    client.on('data', (chunk: Buffer) => {
      this.queries += counter.feed(chunk);
      if (this.resetAt !== undefined && this.queries >= this.resetAt) {
        // The armed query never reaches the server: every connection is reset instead.
        this.resetAt = undefined;
        this.cut();
        return;
      }
      if (this.mode === 'pass') upstream.write(chunk);
    });
    upstream.pipe(client);
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
  }

  /** Let `n - 1` queries through, then reset every connection when the n-th is sent. */
  armResetAtQuery(n: number): void {
    this.queries = 0;
    this.resetAt = n;
  }

  /** Reset every open connection and every new one (a crashed or restarted server). */
  cut(): void {
    this.mode = 'reset';
    for (const s of this.sockets) s.resetAndDestroy();
  }

  /** Keep connections open but forward nothing, new or old (a hung network). */
  blackhole(): void {
    this.mode = 'blackhole';
    for (const s of this.sockets) {
      s.unpipe();
      s.pause();
    }
  }

  /** Stop listening: connection refused. */
  async refuse(): Promise<void> {
    this.cut();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  /** Back to normal (listening again on the same port if it was refusing). */
  async restore(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    this.mode = 'pass';
    this.resetAt = undefined;
    if (!this.server.listening) await this.listen(this.port);
    // Let the far ends see their connections close, as they would once a real outage is over.
    await new Promise((resolve) => setTimeout(resolve, 100));
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    if (this.server.listening) await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
