/**
 * Gets one Google ID token with sesame's `gcp_id_token` plugin, from the
 * service account key in `GOOGLE_APPLICATION_CREDENTIALS`, and exits. Run by
 * `bench/peers.ts`, which serves the key's `token_uri`.
 *
 * @module
 */
import { GcpIdTokenAuthenticator } from "../../plugins/gcp_id_token.ts";

const authenticator = new GcpIdTokenAuthenticator({
  audience: Deno.env.get("SESAME_BENCH_AUDIENCE"),
});
const { idToken } = await authenticator.getCredentials();
if (!idToken) Deno.exit(1);
