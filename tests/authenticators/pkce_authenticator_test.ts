import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import {
  AuthError,
  type AuthEvent,
  ConfigError,
  type Credentials,
  type DevicePrompt,
  MemoryCredentialStore,
  OidcClientConfigStore,
  PkceAuthenticator,
  StaticClientConfigStore,
  TokenRequestError,
} from "../../mod.ts";
import { decodeJwt } from "jose";
import { authorizeInBrowser } from "../support/browser.ts";
import { startIdp } from "../support/idp.ts";

const AUTHORIZATION_ENDPOINT = "https://idp.example.com/auth";

interface Answer {
  status: number;
  body: string;
}

/** Requests the loopback listener the way a browser would. */
async function callListener(
  authorizationUrl: string,
  params: Record<string, string>,
  path?: string,
): Promise<Answer> {
  const query = new URL(authorizationUrl).searchParams;
  const url = new URL(query.get("redirect_uri")!);
  if (path) url.pathname = path;
  for (const [name, value] of Object.entries(params)) {
    url.searchParams.set(
      name,
      value === "$state" ? query.get("state")! : value,
    );
  }
  const response = await fetch(url);
  return { status: response.status, body: await response.text() };
}

/**
 * A browser that requests the listener once; `visited` settles with the
 * listener's answer, which may come after the flow has ended.
 */
function browserThat(params: Record<string, string>) {
  const visited = Promise.withResolvers<Answer>();
  const openBrowser = async (url: string) => {
    const answer = callListener(url, params);
    visited.resolve(answer);
    await answer;
  };
  return { openBrowser, visited: visited.promise };
}

/** A token endpoint that hands out the same credentials to any request. */
function fakeTokenEndpoint() {
  const forms: URLSearchParams[] = [];
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen() {} },
    async (request) => {
      forms.push(new URLSearchParams(await request.text()));
      return Response.json({
        access_token: "fake-access-token",
        token_type: "Bearer",
        expires_in: 3600,
        refresh_token: "fake-refresh-token",
      });
    },
  );
  const url = `http://127.0.0.1:${server.addr.port}/token`;
  return Object.assign(server, { forms, url });
}

function clientConfigStore(
  tokenEndpoint = "http://127.0.0.1:9/token",
  redirectUri = "http://127.0.0.1/callback",
) {
  return new StaticClientConfigStore({
    tokenEndpoint,
    authorizationEndpoint: AUTHORIZATION_ENDPOINT,
    redirectUri,
    clientId: "native",
  });
}

function failPrompt(): never {
  throw new Error("no prompt expected");
}

Deno.test("PkceAuthenticator against small fakes", async (t) => {
  await t.step(
    "getCredentials() rejects when the callback has the wrong state",
    async () => {
      const browser = browserThat({ code: "c", state: "forged" });
      const authenticator = new PkceAuthenticator({}, clientConfigStore(), {
        credentialStore: new MemoryCredentialStore(),
        openBrowser: browser.openBrowser,
        onDevicePrompt: failPrompt,
      });

      const error = await authenticator.getCredentials().catch((e) => e);

      assert.ok(error instanceof TokenRequestError);
      assert.equal(error.code, "TOKEN_REQUEST_FAILED");
      assert.match(error.message, /carries another state/);
      assert.equal((await browser.visited).status, 400);
    },
  );

  await t.step(
    "getCredentials() rejects when the callback has error=access_denied",
    async () => {
      const browser = browserThat({
        error: "access_denied",
        error_description: "<b>no</b>",
        state: "$state",
      });
      const authenticator = new PkceAuthenticator({}, clientConfigStore(), {
        credentialStore: new MemoryCredentialStore(),
        openBrowser: browser.openBrowser,
        onDevicePrompt: failPrompt,
      });

      const error = await authenticator.getCredentials().catch((e) => e);

      assert.ok(error instanceof TokenRequestError);
      assert.equal(error.code, "ACCESS_DENIED");
      assert.match(error.message, /answered "access_denied" \(<b>no<\/b>\)/);
      assert.match(
        (await browser.visited).body,
        /Log-in failed \(access_denied\)/,
      );
    },
  );

  await t.step(
    "getCredentials() rejects when the callback has no code",
    async () => {
      const browser = browserThat({ state: "$state" });
      const authenticator = new PkceAuthenticator({}, clientConfigStore(), {
        credentialStore: new MemoryCredentialStore(),
        openBrowser: browser.openBrowser,
        onDevicePrompt: failPrompt,
      });

      const error = await authenticator.getCredentials().catch((e) => e);

      assert.ok(error instanceof TokenRequestError);
      assert.equal(error.code, "TOKEN_REQUEST_FAILED");
      assert.match(error.message, /carries no code/);
      assert.equal((await browser.visited).status, 400);
    },
  );

  await t.step(
    "getCredentials() answers a stray request with 404 and waits on",
    async () => {
      await using tokens = fakeTokenEndpoint();
      const answers: Answer[] = [];
      let authorizationUrl = "";
      const authenticator = new PkceAuthenticator(
        { scopes: ["openid", "offline_access"] },
        clientConfigStore(tokens.url),
        {
          credentialStore: new MemoryCredentialStore(),
          openBrowser: async (url) => {
            authorizationUrl = url;
            answers.push(await callListener(url, {}, "/favicon.ico"));
            answers.push(
              await callListener(url, { code: "c", state: "$state" }),
            );
          },
          onDevicePrompt: failPrompt,
        },
      );

      const credentials = await authenticator.getCredentials();

      assert.deepEqual(answers.map((answer) => answer.status), [404, 200]);
      assert.equal(credentials.accessToken, "fake-access-token");
      const query = new URL(authorizationUrl).searchParams;
      const verifier = tokens.forms[0]!.get("code_verifier")!;
      assert.deepEqual(
        {
          challenge: query.get("code_challenge"),
          method: query.get("code_challenge_method"),
          prompt: query.get("prompt"),
          code: tokens.forms[0]!.get("code"),
          redirect: tokens.forms[0]!.get("redirect_uri"),
        },
        {
          challenge: createHash("sha256").update(verifier).digest("base64url"),
          method: "S256",
          prompt: "consent",
          code: "c",
          redirect: query.get("redirect_uri"),
        },
      );
    },
  );

  await t.step(
    "getCredentials() rejects with the port when it is in use",
    async () => {
      using taken = Deno.listen({ hostname: "127.0.0.1", port: 0 });
      const port = taken.addr.port;
      let opened = 0;
      const authenticator = new PkceAuthenticator(
        {},
        clientConfigStore(undefined, `http://127.0.0.1:${port}/callback`),
        {
          credentialStore: new MemoryCredentialStore(),
          openBrowser: () => Promise.resolve(void opened++),
          onDevicePrompt: failPrompt,
        },
      );

      const error = await authenticator.getCredentials().catch((e) => e);

      assert.ok(error instanceof AuthError);
      assert.equal(error.code, "AUTH_ERROR");
      assert.match(error.message, new RegExp(`port ${port} is already in use`));
      assert.equal(opened, 0);
    },
  );

  await t.step(
    "getCredentials() rejects a redirect URI that is not loopback",
    async () => {
      const authenticator = new PkceAuthenticator(
        {},
        clientConfigStore(undefined, "http://0.0.0.0:8080/callback"),
        { credentialStore: new MemoryCredentialStore() },
      );

      const error = await authenticator.getCredentials().catch((e) => e);

      assert.ok(error instanceof ConfigError);
      assert.equal(error.code, "CONFIG_INVALID");
      assert.match(error.message, /"http:\/\/0\.0\.0\.0:8080\/callback"/);
    },
  );

  await t.step(
    "getCredentials() refuses a plain http authorization endpoint",
    async () => {
      let opened = 0;
      const authenticator = new PkceAuthenticator(
        {},
        new StaticClientConfigStore({
          ...(await clientConfigStore().getClientConfig()),
          authorizationEndpoint: "http://idp.example.com/auth",
        }),
        {
          credentialStore: new MemoryCredentialStore(),
          openBrowser: () => Promise.resolve(void opened++),
        },
      );

      const error = await authenticator.getCredentials().catch((e) => e);

      assert.ok(error instanceof ConfigError);
      assert.match(
        error.message,
        /"http:\/\/idp\.example\.com\/auth": it is not an https URL/,
      );
      assert.equal(opened, 0);
    },
  );

  await t.step(
    "getCredentials() times out when no redirect comes back",
    async () => {
      const authenticator = new PkceAuthenticator(
        {},
        clientConfigStore(),
        {
          credentialStore: new MemoryCredentialStore(),
          openBrowser: () => Promise.resolve(),
          onDevicePrompt: failPrompt,
        },
        { timeoutMs: 30 },
      );

      const error = await authenticator.getCredentials().catch((e) => e);

      assert.ok(error instanceof AuthError);
      assert.equal(error.code, "TIMEOUT");
      assert.match(error.message, /no redirect came back within 0.03 s/);
    },
  );

  await t.step(
    "getCredentials() gives the URL to the prompt hook when the browser fails",
    async () => {
      const prompts: DevicePrompt[] = [];
      const browser = browserThat({ error: "access_denied", state: "$state" });
      const now = 1_000_000;
      const authenticator = new PkceAuthenticator(
        {},
        clientConfigStore(),
        {
          credentialStore: new MemoryCredentialStore(),
          openBrowser: () => Promise.reject(new Error("no display")),
          onDevicePrompt: (prompt) => {
            prompts.push(prompt);
            return browser.openBrowser(prompt.verificationUri);
          },
          now: () => now,
        },
        { timeoutMs: 60_000 },
      );

      const error = await authenticator.getCredentials().catch((e) => e);

      await browser.visited;
      assert.equal(error.code, "ACCESS_DENIED");
      assert.equal(prompts.length, 1);
      const { kind, verificationUri, userCode, expiresAt } = prompts[0]!;
      assert.deepEqual(
        { kind, userCode, expiresAt, start: verificationUri.split("?")[0] },
        {
          kind: "browser",
          userCode: "",
          expiresAt: now + 60_000,
          start: AUTHORIZATION_ENDPOINT,
        },
      );
    },
  );

  await t.step(
    "getCredentials() stops waiting and closes the listener when aborted",
    async () => {
      const controller = new AbortController();
      const failed = Promise.withResolvers<AuthEvent>();
      let redirectUri = "";
      const authenticator = new PkceAuthenticator({}, clientConfigStore(), {
        credentialStore: new MemoryCredentialStore(),
        openBrowser: (url) => {
          redirectUri = new URL(url).searchParams.get("redirect_uri")!;
          controller.abort(new Error("stop"));
          return Promise.resolve();
        },
        onDevicePrompt: failPrompt,
        onEvent: (event) => {
          if (event.type === "refresh_failed") failed.resolve(event);
        },
      });

      const error = await authenticator
        .getCredentials({ signal: controller.signal })
        .catch((e) => e);
      await failed.promise;

      assert.equal(error.message, "stop");
      await assert.rejects(fetch(redirectUri), TypeError);
    },
  );
});

Deno.test("PkceAuthenticator with a stored login", async (t) => {
  const key = "flyte.example.com|pkce|native";
  const expired: Credentials = {
    accessToken: "old-access",
    refreshToken: "old-refresh",
    expiresAt: 1,
  };

  await t.step(
    "getCredentials() refreshes without a browser and takes the platform's header key",
    async () => {
      await using tokens = fakeTokenEndpoint();
      const credentialStore = new MemoryCredentialStore();
      await credentialStore.set(key, expired);
      const authenticator = new PkceAuthenticator(
        { endpoint: "flyte.example.com" },
        new StaticClientConfigStore({
          ...(await clientConfigStore(tokens.url).getClientConfig()),
          headerKey: "flyte-authorization",
        }),
        { credentialStore, onDevicePrompt: failPrompt },
      );

      const credentials = await authenticator.getCredentials();

      assert.equal(credentials.accessToken, "fake-access-token");
      assert.equal(tokens.forms[0]!.get("refresh_token"), "old-refresh");
      assert.equal(authenticator.headerKey, "flyte-authorization");
    },
  );

  await t.step(
    "getCredentials() keeps the stored refresh token when refresh and log-in fail",
    async () => {
      await using tokens = Deno.serve(
        { hostname: "127.0.0.1", port: 0, onListen() {} },
        () => Response.json({ error: "invalid_grant" }, { status: 400 }),
      );
      const credentialStore = new MemoryCredentialStore();
      await credentialStore.set(key, expired);
      const authenticator = new PkceAuthenticator(
        { endpoint: "flyte.example.com" },
        clientConfigStore(`http://127.0.0.1:${tokens.addr.port}/token`),
        {
          credentialStore,
          openBrowser: () => Promise.reject(new Error("no display")),
          onDevicePrompt: () => {
            throw new AuthError(
              "nobody there",
              undefined,
              "INTERACTION_REQUIRED",
            );
          },
        },
      );

      const error = await authenticator.getCredentials().catch((e) => e);

      assert.equal(error.code, "INTERACTION_REQUIRED");
      assert.deepEqual(await credentialStore.get(key), expired);
    },
  );
});

Deno.test("getCredentials() does not open the browser when the token endpoint fails, and keeps the refresh token", async () => {
  const key = "flyte.example.com|pkce|native";
  const expired: Credentials = {
    accessToken: "old-access",
    refreshToken: "old-refresh",
    expiresAt: 1,
  };
  let requests = 0;
  await using tokens = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen() {} },
    () => {
      requests++;
      return new Response("upstream down", { status: 503 });
    },
  );
  const credentialStore = new MemoryCredentialStore();
  await credentialStore.set(key, expired);
  const opened: string[] = [];
  const waits: number[] = [];
  const authenticator = new PkceAuthenticator(
    { endpoint: "flyte.example.com" },
    clientConfigStore(`http://127.0.0.1:${tokens.addr.port}/token`),
    {
      credentialStore,
      openBrowser: (url) => Promise.resolve(void opened.push(url)),
      onDevicePrompt: failPrompt,
    },
    { sleep: (ms) => Promise.resolve(void waits.push(ms)) },
  );

  const error = await authenticator.getCredentials().catch((e) => e);

  assert.ok(error instanceof TokenRequestError);
  assert.equal(error.status, 503);
  assert.deepEqual(opened, [], "the browser was opened");
  assert.equal(requests, 3, "one request and two retries");
  assert.equal(waits.length, 2);
  assert.deepEqual(await credentialStore.get(key), expired);
});

Deno.test("PkceAuthenticator against the test IdP", async (t) => {
  await using idp = await startIdp();
  const credentialStore = new MemoryCredentialStore();
  const config = {
    endpoint: idp.issuer,
    scopes: ["openid", "offline_access", "api:read"],
  };
  const oidcStore = () =>
    new OidcClientConfigStore({
      issuer: idp.issuer,
      clientId: idp.clients.native.clientId,
      redirectUri: idp.redirectUri,
    });
  const key = `${idp.issuer}|pkce|${idp.clients.native.clientId}`;
  let opened = 0;
  const context = {
    credentialStore,
    openBrowser: async (url: string) => {
      opened++;
      await authorizeInBrowser(url);
    },
    onDevicePrompt: failPrompt,
  };

  await t.step(
    "getCredentials() logs in through the browser and the loopback listener",
    async () => {
      const authenticator = new PkceAuthenticator(config, oidcStore(), context);

      const credentials = await authenticator.getCredentials();

      assert.equal(opened, 1);
      assert.equal(credentials.accessToken.split(".").length, 3);
      assert.deepEqual(await credentialStore.get(key), credentials);
      assert.ok(credentials.refreshToken);
      // Checked against the discovered issuer before it was handed out.
      const idToken = decodeJwt(credentials.idToken ?? "");
      assert.equal(idToken.iss, idp.issuer);
      assert.equal(idToken.aud, idp.clients.native.clientId);
    },
  );

  await t.step(
    "getCredentials() refreshes with the stored refresh token without a browser",
    async () => {
      const stored = (await credentialStore.get(key))!;
      await credentialStore.set(key, { ...stored, expiresAt: Date.now() });
      const before = await idp.tokenRequests();
      const authenticator = new PkceAuthenticator(config, oidcStore(), context);

      const credentials = await authenticator.getCredentials();

      assert.equal(opened, 1);
      assert.equal(await idp.tokenRequests(), before + 1);
      assert.notEqual(credentials.refreshToken, stored.refreshToken);
    },
  );

  await t.step(
    "getCredentials() reuses the stored login in a new authenticator",
    async () => {
      const stored = (await credentialStore.get(key))!;
      const before = await idp.tokenRequests();
      const authenticator = new PkceAuthenticator(config, oidcStore(), context);

      const credentials = await authenticator.getCredentials();

      assert.equal(credentials.accessToken, stored.accessToken);
      assert.equal(await idp.tokenRequests(), before);
      assert.equal(opened, 1);
    },
  );

  await t.step(
    "getCredentials() logs in again when the refresh token is refused",
    async () => {
      const stored = (await credentialStore.get(key))!;
      await credentialStore.set(key, {
        ...stored,
        refreshToken: "revoked",
        expiresAt: Date.now(),
      });
      const authenticator = new PkceAuthenticator(config, oidcStore(), context);

      const credentials = await authenticator.getCredentials();

      assert.equal(opened, 2);
      assert.notEqual(credentials.refreshToken, "revoked");
    },
  );
});
