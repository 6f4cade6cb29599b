import assert from "node:assert/strict";
import {
  ConfigError,
  OidcClientConfigStore,
  TokenRequestError,
} from "../../mod.ts";
import { startIdp } from "../support/idp.ts";

/** A fake issuer whose discovery document `document` builds. */
function issuer(document: (origin: string) => unknown) {
  let requests = 0;
  let origin = "";
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen() {} },
    (request) => {
      requests++;
      const { pathname } = new URL(request.url);
      if (pathname !== "/.well-known/openid-configuration") {
        return new Response("not found", { status: 404 });
      }
      return Response.json(document(origin));
    },
  );
  origin = `http://127.0.0.1:${server.addr.port}`;
  return Object.assign(server, { origin, requests: () => requests });
}

function discovery(origin: string) {
  return {
    issuer: origin,
    authorization_endpoint: `${origin}/auth`,
    token_endpoint: `${origin}/token`,
    device_authorization_endpoint: `${origin}/device/auth`,
  };
}

Deno.test("OidcClientConfigStore", async (t) => {
  await t.step("getClientConfig() reads the discovery document", async () => {
    await using server = issuer(discovery);
    const store = new OidcClientConfigStore({
      issuer: server.origin,
      clientId: "native",
      scopes: ["openid", "offline_access"],
      audience: "https://api.example.com",
    });

    const config = await store.getClientConfig();

    assert.deepEqual(config, {
      tokenEndpoint: `${server.origin}/token`,
      authorizationEndpoint: `${server.origin}/auth`,
      deviceAuthorizationEndpoint: `${server.origin}/device/auth`,
      redirectUri: "http://localhost:53593/callback",
      clientId: "native",
      scopes: ["openid", "offline_access"],
      audience: "https://api.example.com",
      issuer: server.origin,
    });
  });

  await t.step(
    "getClientConfig() keeps the issuer as the document spells it",
    async () => {
      await using server = issuer((origin) => ({
        ...discovery(origin),
        issuer: `${origin}/`,
      }));
      const store = new OidcClientConfigStore({
        issuer: server.origin,
        clientId: "native",
      });

      const config = await store.getClientConfig();

      // ID tokens carry the issuer exactly as the provider names it.
      assert.equal(config.issuer, `${server.origin}/`);
    },
  );

  await t.step(
    "getClientConfig() fetches once under 10 concurrent calls",
    async () => {
      await using server = issuer(discovery);
      const store = new OidcClientConfigStore({
        issuer: `${server.origin}/`,
        clientId: "native",
        redirectUri: "http://127.0.0.1:8123/callback",
      });

      const configs = await Promise.all(
        Array.from({ length: 10 }, () => store.getClientConfig()),
      );

      assert.equal(server.requests(), 1);
      assert.equal(configs[9]!.redirectUri, "http://127.0.0.1:8123/callback");
    },
  );

  await t.step(
    "getClientConfig() rejects a document that names another issuer",
    async () => {
      await using server = issuer((origin) => ({
        ...discovery(origin),
        issuer: "https://evil.example.com",
      }));
      const store = new OidcClientConfigStore({
        issuer: server.origin,
        clientId: "native",
      });

      const error = await store.getClientConfig().catch((e) => e);

      assert.ok(error instanceof ConfigError);
      assert.equal(error.code, "CONFIG_INVALID");
      assert.match(
        error.message,
        /names the issuer "https:\/\/evil\.example\.com"/,
      );
    },
  );

  await t.step(
    "getClientConfig() rejects a document without a token endpoint",
    async () => {
      await using server = issuer((origin) => ({
        ...discovery(origin),
        token_endpoint: "",
      }));
      const store = new OidcClientConfigStore({
        issuer: server.origin,
        clientId: "native",
      });

      const error = await store.getClientConfig().catch((e) => e);

      assert.ok(error instanceof ConfigError);
      assert.equal(error.code, "CONFIG_INVALID");
      assert.match(error.message, /"token_endpoint" is missing or empty/);
    },
  );

  await t.step(
    "getClientConfig() rejects an issuer without discovery",
    async () => {
      await using server = issuer(discovery);
      const store = new OidcClientConfigStore({
        issuer: `${server.origin}/realms/none`,
        clientId: "native",
      });

      const error = await store.getClientConfig().catch((e) => e);

      assert.ok(error instanceof TokenRequestError);
      assert.equal(error.status, 404);
      assert.match(
        error.message,
        /\/realms\/none\/\.well-known\/openid-configuration": the server answered HTTP 404/,
      );
    },
  );

  await t.step("constructor rejects an empty client id", () => {
    assert.throws(
      () =>
        new OidcClientConfigStore({ issuer: "idp.example.com", clientId: " " }),
      (error: unknown) =>
        error instanceof ConfigError &&
        /without a client id; pass the clientId/.test(error.message),
    );
    assert.equal(
      new OidcClientConfigStore({
        issuer: "dns:///idp.example.com",
        clientId: "c",
      })
        .issuer,
      "https://idp.example.com",
    );
  });
});

Deno.test("OidcClientConfigStore against the test IdP", async (t) => {
  await using idp = await startIdp();

  await t.step(
    "getClientConfig() reads the test IdP's discovery document",
    async () => {
      const store = new OidcClientConfigStore({
        issuer: idp.issuer,
        clientId: idp.clients.native.clientId,
        redirectUri: idp.redirectUri,
      });

      const config = await store.getClientConfig();

      assert.equal(config.tokenEndpoint, idp.tokenEndpoint);
      assert.equal(config.authorizationEndpoint, idp.authorizationEndpoint);
      assert.equal(
        config.deviceAuthorizationEndpoint,
        idp.deviceAuthorizationEndpoint,
      );
    },
  );
});
