import assert from "node:assert/strict";
import {
  authorizationCodeGrant,
  clientCredentialsGrant,
  type OAuthSettings,
  refreshTokenGrant,
} from "../../src/authenticators/_oauth.ts";
import type { AuthEvent, FetchLike } from "../../src/context.ts";
import { AuthError, ConfigError, TokenRequestError } from "../../src/errors.ts";
import {
  type FakeOAuthServer,
  hang,
  oauthError,
  serveFakeOAuth,
  tokenJson,
} from "../support/fake_oauth_server.ts";

const NOW = Date.UTC(2030, 0, 1);
const SECRET = "fake-client-secret-value";
const TOKEN = { access_token: "fake-access", token_type: "Bearer" };

function setup(
  server: Pick<FakeOAuthServer, "tokenEndpoint">,
  overrides: Partial<OAuthSettings> = {},
) {
  const sleeps: number[] = [];
  const events: AuthEvent[] = [];
  const settings: OAuthSettings = {
    tokenEndpoint: server.tokenEndpoint,
    clientId: "fake-client",
    clientSecret: SECRET,
    context: { fetch, now: () => NOW, onEvent: (e) => events.push(e) },
    sleep: (ms) => (sleeps.push(ms), Promise.resolve()),
    random: () => 0.5,
    ...overrides,
  };
  return { settings, sleeps, events };
}

/** A JWT with an RS256 header and a signature that is not one. */
function unsignedJwt(claims: Record<string, unknown>): string {
  const part = (value: unknown) =>
    btoa(JSON.stringify(value)).replaceAll("+", "-").replaceAll("/", "_")
      .replace(/=+$/, "");
  return `${part({ alg: "RS256", typ: "JWT" })}.${part(claims)}.c2ln`;
}

async function rejection(promise: Promise<unknown>): Promise<AuthError> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof AuthError) return error;
    throw error;
  }
  assert.fail("expected a rejection");
}

Deno.test("clientCredentialsGrant()", async (t) => {
  await t.step(
    "returns credentials with expiresAt from expires_in by the context's clock",
    async () => {
      await using server = serveFakeOAuth(() =>
        tokenJson({ ...TOKEN, expires_in: 60, scope: "api" })
      );
      const { settings } = setup(server);

      const credentials = await clientCredentialsGrant(settings, {
        scopes: ["api", "more"],
        audience: "https://api.example.com",
      });

      assert.deepEqual(credentials, {
        accessToken: "fake-access",
        expiresAt: NOW + 60_000,
      });
      const form = server.requests[0]!.form;
      assert.equal(form.get("scope"), "api more");
      assert.equal(form.get("audience"), "https://api.example.com");
    },
  );

  await t.step(
    "sends the secret in a Basic header by default, in the body with client_secret_post",
    async () => {
      await using server = serveFakeOAuth(() => tokenJson(TOKEN));
      const basic = setup(server).settings;
      const post = setup(server, { clientAuthentication: "client_secret_post" })
        .settings;

      await clientCredentialsGrant(basic);
      await clientCredentialsGrant(post);

      const [first, second] = server.requests;
      // RFC 6749 §2.3.1: both halves are form-urlencoded, then base64.
      const header = first!.headers.get("authorization")!.replace(
        /^Basic /,
        "",
      );
      const [id, secret] = atob(header).split(":").map(decodeURIComponent);
      assert.ok(id === "fake-client" && secret === SECRET, "not the client's");
      assert.ok(!first!.form.has("client_secret"));
      assert.ok(second!.form.get("client_secret") === SECRET);
    },
  );

  await t.step("retries a 500 and returns the token that follows", async () => {
    await using server = serveFakeOAuth((_, index) =>
      index === 0 ? new Response("boom", { status: 500 }) : tokenJson(TOKEN)
    );
    const { settings, sleeps, events } = setup(server);

    const credentials = await clientCredentialsGrant(settings);

    assert.equal(credentials.accessToken, "fake-access");
    assert.deepEqual(sleeps, [375]);
    assert.deepEqual(events, [{
      type: "retry",
      url: server.tokenEndpoint,
      attempt: 1,
      delayMs: 375,
      reason: "status 500",
    }]);
  });

  await t.step(
    "waits as long as Retry-After says on a 429, up to 10 s",
    async () => {
      await using server = serveFakeOAuth((_, index) =>
        index === 0
          ? new Response(null, { status: 429, headers: { "retry-after": "3" } })
          : index === 1
          ? new Response(null, {
            status: 429,
            headers: { "retry-after": "60" },
          })
          : tokenJson(TOKEN)
      );
      const { settings, sleeps } = setup(server);

      await clientCredentialsGrant(settings);

      assert.deepEqual(sleeps, [3000, 10_000]);
      assert.equal(server.requests.length, 3);
    },
  );

  await t.step("gives up after two retries of a 503", async () => {
    await using server = serveFakeOAuth(() =>
      new Response(null, { status: 503 })
    );
    const { settings, sleeps } = setup(server);

    const error = await rejection(clientCredentialsGrant(settings));

    assert.ok(error instanceof TokenRequestError);
    assert.equal(error.status, 503);
    assert.match(error.message, /failed 3 times with status 503/);
    assert.deepEqual(sleeps.length, 2);
  });

  await t.step("retries network errors, then says what to check", async () => {
    const server = serveFakeOAuth(() => tokenJson(TOKEN));
    await server.close();
    const { settings, events } = setup(server);

    const error = await rejection(clientCredentialsGrant(settings));

    assert.ok(error instanceof TokenRequestError);
    assert.equal(error.code, "TOKEN_REQUEST_FAILED");
    assert.match(error.message, /failed 3 times: .*; check the network/);
    assert.equal(events.filter((e) => e.type === "retry").length, 2);
  });

  await t.step(
    "never retries a 4xx, and keeps the secret out of the message",
    async () => {
      await using server = serveFakeOAuth(() =>
        oauthError("invalid_client", 401, `bad secret ${SECRET}`)
      );
      const { settings, sleeps } = setup(server);

      const error = await rejection(clientCredentialsGrant(settings));

      assert.ok(error instanceof TokenRequestError);
      assert.deepEqual([error.code, error.status, error.error], [
        "TOKEN_REQUEST_FAILED",
        401,
        "invalid_client",
      ]);
      assert.ok(!error.message.includes(SECRET), "the secret was shown");
      assert.match(
        error.message,
        /"invalid_client" \(status 401\).*check the client id and secret/,
      );
      assert.equal(sleeps.length + server.requests.length, 1);
    },
  );

  await t.step("rejects an HTML page instead of JSON", async () => {
    await using server = serveFakeOAuth(() =>
      new Response("<!doctype html><title>Log in</title>", {
        headers: { "content-type": "text/html; charset=utf-8" },
      })
    );
    const { settings } = setup(server);

    const error = await rejection(clientCredentialsGrant(settings));

    assert.ok(error instanceof TokenRequestError);
    assert.equal(error.status, 200);
    assert.match(
      error.message,
      /got an HTML page with status 200 instead of JSON; check that ".*\/token" is the right endpoint/,
    );
  });

  await t.step("rejects text that is not JSON, naming its type", async () => {
    await using server = serveFakeOAuth(() =>
      new Response("access_token=x", {
        headers: { "content-type": "text/plain" },
      })
    );
    const { settings } = setup(server);

    const error = await rejection(clientCredentialsGrant(settings));

    assert.ok(error instanceof TokenRequestError);
    assert.match(
      error.message,
      /got "text\/plain" with status 200 instead of JSON/,
    );
  });

  await t.step("rejects a response without access_token", async () => {
    await using server = serveFakeOAuth(() =>
      tokenJson({ token_type: "Bearer", expires_in: 60 })
    );
    const { settings } = setup(server);

    const error = await rejection(clientCredentialsGrant(settings));

    assert.ok(error instanceof TokenRequestError);
    assert.equal(error.code, "TOKEN_REQUEST_FAILED");
    assert.match(error.message, /without an access_token/);
  });

  await t.step("times out on a hanging token endpoint", async () => {
    await using server = serveFakeOAuth((_, __, control) => hang(control));
    const { settings } = setup(server, { timeoutMs: 200 });

    const error = await rejection(clientCredentialsGrant(settings));

    assert.ok(error instanceof TokenRequestError);
    assert.equal(error.code, "TIMEOUT");
    assert.match(
      error.message,
      /timed out after 200 ms; check that the server is reachable/,
    );
  });

  await t.step(
    "rejects with the caller's reason when the caller aborts",
    async () => {
      await using server = serveFakeOAuth((_, __, control) => hang(control));
      const { settings } = setup(server);
      const controller = new AbortController();
      const reason = new Error("caller gave up");

      const pending = clientCredentialsGrant(settings, {}, controller.signal);
      controller.abort(reason);

      await assert.rejects(pending, (error) => error === reason);
    },
  );

  await t.step(
    "refuses plain http to a host that is not loopback",
    async () => {
      let fetched = 0;
      const counting: FetchLike =
        () => (fetched++, Promise.resolve(tokenJson(TOKEN)));
      const { settings } = setup({
        tokenEndpoint: "http://idp.example.com/token",
      }, {
        context: { fetch: counting, now: () => NOW },
      });

      const error = await rejection(clientCredentialsGrant(settings));

      assert.ok(error instanceof ConfigError);
      assert.match(
        error.message,
        /^Refusing to send a token request over plain HTTP to "http:\/\/idp\.example\.com\/token"; use an https URL, or set insecure: true/,
      );
      assert.equal(fetched, 0);
    },
  );

  await t.step("allows plain http to any host with insecure", async () => {
    const urls: string[] = [];
    const recording: FetchLike = (input) => (
      urls.push(String(input)), Promise.resolve(tokenJson(TOKEN))
    );
    const { settings } = setup({
      tokenEndpoint: "http://idp.example.com/token",
    }, {
      insecure: true,
      context: { fetch: recording, now: () => NOW },
    });

    const credentials = await clientCredentialsGrant(settings);

    assert.equal(credentials.accessToken, "fake-access");
    assert.deepEqual(urls, ["http://idp.example.com/token"]);
  });
});

Deno.test("refreshTokenGrant()", async (t) => {
  await t.step(
    "passes an ID token on unchecked when the issuer is unknown",
    async () => {
      await using server = serveFakeOAuth(() =>
        tokenJson({
          ...TOKEN,
          id_token: "not.a.jwt",
          refresh_token: "fake-rt2",
        })
      );
      const { settings } = setup(server, { clientSecret: undefined });

      const credentials = await refreshTokenGrant(settings, "fake-rt1");

      assert.equal(credentials.idToken, "not.a.jwt");
      assert.equal(credentials.refreshToken, "fake-rt2");
      assert.equal(server.requests[0]!.form.get("refresh_token"), "fake-rt1");
    },
  );

  await t.step(
    "checks an ID token against a known issuer: kept when it matches, refused when not",
    async () => {
      const ISSUER = "https://idp.example.com";
      const idToken = (claims: Record<string, unknown>) =>
        unsignedJwt({
          iss: ISSUER,
          aud: "fake-client",
          sub: "someone",
          iat: Math.floor(Date.now() / 1000),
          exp: Math.floor(Date.now() / 1000) + 300,
          ...claims,
        });
      const good = idToken({});
      const responses = [
        good,
        idToken({ iss: "https://evil.example.com" }),
        idToken({ aud: "another-client" }),
        idToken({ exp: Math.floor(Date.now() / 1000) - 3600 }),
      ];
      await using server = serveFakeOAuth(() =>
        tokenJson({ ...TOKEN, id_token: responses.shift() })
      );
      const { settings } = setup(server, {
        clientSecret: undefined,
        issuer: ISSUER,
      });

      const credentials = await refreshTokenGrant(settings, "fake-rt1");
      assert.equal(credentials.idToken, good);
      for (const wrong of ["iss", "aud", "exp"]) {
        const error = await rejection(refreshTokenGrant(settings, "fake-rt1"));
        assert.ok(error instanceof TokenRequestError, wrong);
        assert.match(error.message, /does not conform/, wrong);
        assert.doesNotMatch(error.message, /eyJ/, "no token in the message");
      }
    },
  );

  await t.step(
    "keeps the refresh token out of the message when the server echoes it",
    async () => {
      await using server = serveFakeOAuth(() =>
        oauthError("invalid_grant", 400, "grant fake-refresh-value revoked")
      );
      const { settings } = setup(server, { clientSecret: undefined });

      const error = await rejection(
        refreshTokenGrant(settings, "fake-refresh-value"),
      );

      assert.ok(error instanceof TokenRequestError);
      assert.equal(error.error, "invalid_grant");
      assert.match(
        error.message,
        /grant \*\*\* revoked; the refresh token, code or device code is no longer valid: log in again/,
      );
    },
  );
});

Deno.test("authorizationCodeGrant()", async (t) => {
  const callback = (query: string) => ({
    callback: new URL(`http://127.0.0.1/callback?${query}`),
    expectedState: "fake-state",
    redirectUri: "http://127.0.0.1:1234/callback",
    codeVerifier: "fake-verifier-fake-verifier-fake-verifier-123",
  });

  await t.step("sends the code, verifier and redirect URI", async () => {
    await using server = serveFakeOAuth(() => tokenJson(TOKEN));
    const { settings } = setup(server, { clientSecret: undefined });

    await authorizationCodeGrant(
      settings,
      callback("code=fake-code&state=fake-state&iss=http%3A%2F%2Fidp"),
    );

    const form = server.requests[0]!.form;
    assert.equal(form.get("code"), "fake-code");
    assert.equal(form.get("code_verifier"), callback("").codeVerifier);
    assert.equal(form.get("redirect_uri"), "http://127.0.0.1:1234/callback");
  });

  await t.step(
    "rejects a callback with another state before any request",
    async () => {
      await using server = serveFakeOAuth(() => tokenJson(TOKEN));
      const { settings } = setup(server, { clientSecret: undefined });

      const error = await rejection(
        authorizationCodeGrant(settings, callback("code=c&state=other")),
      );

      assert.equal(error.code, "AUTH_ERROR");
      assert.match(error.message, /^Cannot finish the log-in: .*state/);
      assert.equal(server.requests.length, 0);
    },
  );

  await t.step("turns error=access_denied into ACCESS_DENIED", async () => {
    await using server = serveFakeOAuth(() => tokenJson(TOKEN));
    const { settings } = setup(server, { clientSecret: undefined });

    const error = await rejection(
      authorizationCodeGrant(
        settings,
        callback("error=access_denied&state=fake-state"),
      ),
    );

    assert.ok(error instanceof TokenRequestError);
    assert.equal(error.code, "ACCESS_DENIED");
    assert.match(error.message, /^Log-in was declined/);
  });
});
