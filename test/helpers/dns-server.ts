// A DNS server in the test process (dns2, UDP on loopback) that answers TXT queries from a
// table the test fills: what a tenant's DNS would publish for domain verification.
import dns2 from 'dns2';

export class TestDns {
  private constructor(
    private server: ReturnType<typeof dns2.createServer>,
    readonly port: number,
    /** Name → its TXT strings. */
    readonly txt: Map<string, string[]>,
  ) {}

  static async start(): Promise<TestDns> {
    const table = new Map<string, string[]>();
    const server = dns2.createServer({
      udp: true,
      handle: (request, send) => {
        const response = dns2.Packet.createResponseFromRequest(request);
        const [question] = request.questions;
        for (const data of table.get(question.name.toLowerCase()) ?? []) {
          response.answers.push({ name: question.name, type: dns2.Packet.TYPE.TXT, class: dns2.Packet.CLASS.IN, ttl: 1, data } as never);
        }
        send(response);
      },
    });
    await server.listen({ udp: { port: 0, address: '127.0.0.1' } });
    return new TestDns(server, (server.addresses() as { udp: { port: number } }).udp.port, table);
  }

  /** For SSO_DNS_SERVERS. */
  get address(): string {
    return `127.0.0.1:${this.port}`;
  }

  async close(): Promise<void> {
    await this.server.close();
  }
}
