/**
 * One of several processes that start together on an empty
 * FileCredentialStore and get a client-credentials token from the test
 * authorization server. It prints "ready", waits for a line on stdin (the
 * test's barrier), then gets credentials and prints a SHA-256 of the access
 * token, never the token.
 *
 * Usage: deno run -A client_credentials_once.ts DIR TOKEN_URL CLIENT_ID
 * (the client secret comes in the SESAME_TEST_CLIENT_SECRET variable)
 *
 * @module
 */

import {
  ClientCredentialsAuthenticator,
  FileCredentialStore,
} from "../../mod.ts";

const [directory, tokenUrl, clientId] = Deno.args;
if (!directory || !tokenUrl || !clientId) {
  throw new TypeError(
    "Usage: client_credentials_once.ts DIR TOKEN_URL CLIENT_ID",
  );
}
const authenticator = new ClientCredentialsAuthenticator(
  {
    endpoint: "flyte.test",
    tokenUrl,
    clientId,
    clientCredentialsSecret: Deno.env.get("SESAME_TEST_CLIENT_SECRET"),
    scopes: ["api:read"],
  },
  undefined,
  { credentialStore: new FileCredentialStore({ directory }) },
);

const encoder = new TextEncoder();
await Deno.stdout.write(encoder.encode("ready\n"));
await Deno.stdin.readable.getReader().read();
const { accessToken } = await authenticator.getCredentials();
const digest = await crypto.subtle.digest(
  "SHA-256",
  encoder.encode(accessToken),
);
const hex = Array.from(
  new Uint8Array(digest),
  (b) => b.toString(16).padStart(2, "0"),
).join("");
await Deno.stdout.write(encoder.encode(hex + "\n"));
