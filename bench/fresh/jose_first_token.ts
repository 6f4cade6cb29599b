/**
 * Gets one Google ID token by hand, with jose and fetch, from the service
 * account key in `GOOGLE_APPLICATION_CREDENTIALS`, and exits: the baseline
 * of issue 5. With `--print`, prints the ID token on stdout, as
 * `gcloud auth print-identity-token` does, for `CommandAuthenticator`. Run
 * by `bench/peers.ts`.
 *
 * @module
 */
import { importPKCS8, SignJWT } from "jose";

const key = JSON.parse(
  await Deno.readTextFile(Deno.env.get("GOOGLE_APPLICATION_CREDENTIALS")!),
);
const now = Math.floor(Date.now() / 1000);
const assertion = await new SignJWT({
  target_audience: Deno.env.get("SESAME_BENCH_AUDIENCE"),
})
  .setProtectedHeader({ alg: "RS256", kid: key.private_key_id })
  .setIssuer(key.client_email)
  .setSubject(key.client_email)
  .setAudience(key.token_uri)
  .setIssuedAt(now)
  .setExpirationTime(now + 3600)
  .sign(await importPKCS8(key.private_key, "RS256"));
const response = await fetch(key.token_uri, {
  method: "POST",
  body: new URLSearchParams({
    grant_type: "urn:ietf:params:oauth:grant-type:jwt-bearer",
    assertion,
  }),
});
const { id_token: idToken } = await response.json();
if (typeof idToken !== "string") Deno.exit(1);
if (Deno.args[0] === "--print") {
  await Deno.stdout.write(new TextEncoder().encode(`${idToken}\n`));
}
