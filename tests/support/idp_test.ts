import assert from "node:assert/strict";
import {
  calculatePKCECodeChallenge,
  generateRandomCodeVerifier,
} from "oauth4webapi";
import {
  authorizationCodeGrant,
  clientCredentialsGrant,
} from "../../src/authenticators/_oauth.ts";
import { approveDeviceLogin, authorizeInBrowser } from "./browser.ts";
import { type Idp, startIdp } from "./idp.ts";

/** A loopback listener that keeps the callback URLs it receives. */
function listen() {
  const received: URL[] = [];
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen() {} },
    (request) => {
      received.push(new URL(request.url));
      return new Response("You may close this page");
    },
  );
  return {
    received,
    redirectUri: `http://127.0.0.1:${server.addr.port}/callback`,
    [Symbol.asyncDispose]: () => server.shutdown(),
  };
}

async function authorizationUrl(
  idp: Idp,
  redirectUri: string,
  verifier: string,
): Promise<URL> {
  const url = new URL(idp.authorizationEndpoint);
  url.search = new URLSearchParams({
    client_id: idp.clients.native.clientId,
    response_type: "code",
    redirect_uri: redirectUri,
    scope: "openid offline_access api:read",
    prompt: "consent",
    state: "fake-state",
    code_challenge: await calculatePKCECodeChallenge(verifier),
    code_challenge_method: "S256",
  }).toString();
  return url;
}

Deno.test("startIdp()", async (t) => {
  await using idp = await startIdp();

  await t.step(
    "serves discovery with the issuer and endpoints it reports",
    async () => {
      const response = await fetch(idp.discoveryUrl);
      const metadata = await response.json();

      assert.equal(metadata.issuer, idp.issuer);
      assert.equal(metadata.token_endpoint, idp.tokenEndpoint);
      assert.equal(
        metadata.device_authorization_endpoint,
        idp.deviceAuthorizationEndpoint,
      );
    },
  );

  await t.step(
    "tokenRequests() counts token endpoint requests only",
    async () => {
      const before = await idp.tokenRequests();
      const { clientId, clientSecret } = idp.clients.confidential;

      await clientCredentialsGrant({
        tokenEndpoint: idp.tokenEndpoint,
        clientId,
        clientSecret,
        context: { fetch, now: Date.now },
      });
      await (await fetch(idp.discoveryUrl)).body?.cancel();

      assert.equal(await idp.tokenRequests(), before + 1);
    },
  );

  await t.step(
    "authorizeInBrowser() logs in, consents and delivers the code to the loopback listener",
    async () => {
      await using listener = listen();
      const verifier = generateRandomCodeVerifier();

      const callback = await authorizeInBrowser(
        await authorizationUrl(idp, listener.redirectUri, verifier),
      );
      const credentials = await authorizationCodeGrant({
        tokenEndpoint: idp.tokenEndpoint,
        issuer: idp.issuer,
        clientId: idp.clients.native.clientId,
        context: { fetch, now: Date.now },
      }, {
        callback,
        expectedState: "fake-state",
        redirectUri: listener.redirectUri,
        codeVerifier: verifier,
      });

      assert.deepEqual(listener.received.map((url) => url.pathname), [
        "/callback",
      ]);
      assert.ok(callback.searchParams.has("code"), "no code");
      assert.ok(
        credentials.idToken && credentials.refreshToken,
        "no ID or refresh token",
      );
    },
  );

  await t.step(
    "authorizeInBrowser() with deny brings back error=access_denied",
    async () => {
      await using listener = listen();

      const callback = await authorizeInBrowser(
        await authorizationUrl(idp, listener.redirectUri, "x".repeat(43)),
        { deny: true },
      );

      assert.equal(callback.searchParams.get("error"), "access_denied");
      assert.equal(listener.received.length, 1);
    },
  );

  await t.step(
    "approveDeviceLogin() fails on a user code the server does not know",
    async () => {
      await assert.rejects(
        approveDeviceLogin(idp.deviceVerificationUri, "BCDF-GHJK"),
        /did not succeed/,
      );
    },
  );
});

Deno.test("Idp.close() stops the server process", async () => {
  const idp = await startIdp();

  await idp.close();

  await assert.rejects(fetch(idp.discoveryUrl), TypeError);
});
