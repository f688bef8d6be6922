// A TCP proxy between the gateway and PostgreSQL that tests can break for real:
// reset every connection, refuse new ones, or swallow traffic (a black hole).
import net from 'node:net';

export type ProxyMode = 'pass' | 'reset' | 'blackhole';

export class TcpProxy {
  private server!: net.Server;
  private readonly sockets = new Set<net.Socket>();
  mode: ProxyMode = 'pass';
  port = 0;

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
    client.pipe(upstream);
    upstream.pipe(client);
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
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
    if (!this.server.listening) await this.listen(this.port);
    // Let the far ends see their connections close, as they would once a real outage is over.
    await new Promise((resolve) => setTimeout(resolve, 100));
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    if (this.server.listening) await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
