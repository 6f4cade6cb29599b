/**
 * Gets one Google ID token with google-auth-library, from the service
 * account key in `GOOGLE_APPLICATION_CREDENTIALS`, and exits. Its requests
 * to Google's token URL go to `SESAME_BENCH_TOKEN_URI` instead. Run by
 * `bench/peers.ts`.
 *
 * @module
 */
import { GoogleAuth } from "npm:google-auth-library@^11.3.4";
import { redirectGoogleTokenUrl } from "../support/google_redirect.ts";

const auth = new GoogleAuth();
const client = await auth.getClient();
redirectGoogleTokenUrl(
  client.transporter,
  Deno.env.get("SESAME_BENCH_TOKEN_URI")!,
);
const idTokenClient = await auth.getIdTokenClient(
  Deno.env.get("SESAME_BENCH_AUDIENCE")!,
);
const headers = await idTokenClient.getRequestHeaders();
if (!headers.get("authorization")?.startsWith("Bearer ey")) Deno.exit(1);
