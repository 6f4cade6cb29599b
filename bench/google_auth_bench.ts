/**
 * A cached Google ID token: sesame's `gcp_id_token` plugin against
 * google-auth-library's warm `IdTokenClient.getRequestHeaders()`, both
 * holding a token from the same fake Google token endpoint with the same
 * service account key. The fake is stopped before the benchmarks run, so a
 * request that is not served from a cache fails instead of being timed.
 *
 * Target (issue 5): sesame's cached token at least 5× faster than
 * google-auth-library's warm cached header. Run with `deno task bench` or
 * `deno bench -A bench/google_auth_bench.ts`.
 */
import { GoogleAuth } from "npm:google-auth-library@^11.3.4";
import { GcpIdTokenAuthenticator } from "../plugins/gcp_id_token.ts";
import { AUDIENCE, startFakeGoogle } from "../tests/support/fake_google.ts";
import { redirectGoogleTokenUrl } from "./support/google_redirect.ts";

const google = await startFakeGoogle();

const sesame = new GcpIdTokenAuthenticator({}, undefined, undefined, {
  audience: AUDIENCE,
  credentialsFile: google.keyFile,
  env: {},
});
await sesame.getCredentials();

// Application Default Credentials, as a user sets them; the keyFilename
// option would work too, but google-auth-library warns that it is deprecated.
Deno.env.set("GOOGLE_APPLICATION_CREDENTIALS", google.keyFile);
const auth = new GoogleAuth();
redirectGoogleTokenUrl((await auth.getClient()).transporter, google.tokenUri);
Deno.env.delete("GOOGLE_APPLICATION_CREDENTIALS");
const idTokenClient = await auth.getIdTokenClient(AUDIENCE);
await idTokenClient.getRequestHeaders();

if (google.issued !== 2) {
  throw new Error(`Expected 2 ID tokens from the fake, got ${google.issued}`);
}
await google[Symbol.asyncDispose]();

Deno.bench("google-auth-library IdTokenClient.getRequestHeaders(), warm", {
  group: "cached ID token",
  baseline: true,
}, async () => {
  await idTokenClient.getRequestHeaders();
});

Deno.bench("sesame gcp_id_token getCredentials()", {
  group: "cached ID token",
}, async () => {
  await sesame.getCredentials();
});

Deno.bench("sesame gcp_id_token getCredentials() + a Headers object", {
  group: "cached ID token",
}, async () => {
  const { accessToken } = await sesame.getCredentials();
  new Headers({ authorization: `Bearer ${accessToken}` });
});
