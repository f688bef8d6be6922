// An upstream OpenID Provider in the test process: oidc-provider (OpenID Certified) on a
// loopback port (scripts/local-idp.ts), whose interactions finish at once as the account the
// test chose (or refuse, as a user who says no). The gateway talks to it over real HTTP as to
// any IdP. A small browser (cookies per origin, manual redirects) walks the redirects between
// the app, the gateway and the IdP.
import { startLocalIdp, type IdpAccount, type LocalIdp } from '../../scripts/local-idp.js';

export { MiniBrowser } from '../../scripts/mini-browser.js';

export type { IdpAccount };

export class TestIdp {
  /** Who signs in at the next interaction; `refuse`: the user says no at the IdP. */
  next: IdpAccount | 'refuse' = 'refuse';

  private constructor(private idp: LocalIdp) {}

  get issuer(): string {
    return this.idp.issuer;
  }
  get clientId(): string {
    return this.idp.clientId;
  }
  get clientSecret(): string {
    return this.idp.clientSecret;
  }

  static async start(redirectUri: string): Promise<TestIdp> {
    let test: TestIdp | undefined;
    const idp = await startLocalIdp({ redirectUri, signIn: () => test!.next });
    test = new TestIdp(idp);
    return test;
  }

  close(): Promise<void> {
    return this.idp.close();
  }
}
