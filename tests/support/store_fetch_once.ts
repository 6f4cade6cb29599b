/**
 * One of several processes that start together on an empty
 * FileCredentialStore: it waits at the counting server's barrier, then gets
 * credentials through a CachingAuthenticator whose every fetch is a request
 * to that server, and prints the access token (a fixed test token).
 *
 * Usage: deno run --allow-read=DIR --allow-write=DIR --allow-net=127.0.0.1
 *   store_fetch_once.ts DIR PORT
 *
 * @module
 */

import {
  CachingAuthenticator,
  type Credentials,
  FileCredentialStore,
} from "../../mod.ts";

const [directory, port] = Deno.args;
if (!directory || !port) {
  throw new TypeError("Usage: store_fetch_once.ts DIR PORT");
}
const server = `http://127.0.0.1:${port}`;

class CountedAuthenticator extends CachingAuthenticator {
  protected async fetchCredentials(): Promise<Credentials> {
    const response = await fetch(`${server}/token`);
    const accessToken = await response.text();
    return { accessToken, expiresAt: Date.now() + 3600_000 };
  }
}

const authenticator = new CountedAuthenticator({
  storeKey: "k",
  context: { credentialStore: new FileCredentialStore({ directory }) },
});

await (await fetch(`${server}/ready`)).body?.cancel();
const { accessToken } = await authenticator.getCredentials();
await Deno.stdout.write(new TextEncoder().encode(accessToken + "\n"));
