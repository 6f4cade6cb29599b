import assert from "node:assert/strict";
import {
  ConfigError,
  RemoteClientConfigStore,
  TokenRequestError,
} from "../../mod.ts";

type Seen = { pathname: string; accept: string | null };
type Handler = (request: Request) => Response | Promise<Response>;

function json(body: unknown): Response {
  return Response.json(body);
}

/** A fake Flyte platform that answers both metadata paths. */
function platform(client: unknown, server: unknown, seen: Seen[] = []) {
  return serve((request) => {
    const { pathname } = new URL(request.url);
    seen.push({ pathname, accept: request.headers.get("accept") });
    if (pathname === "/config/v1/flyte_client") return json(client);
    if (pathname === "/.well-known/oauth-authorization-server") {
      return json(server);
    }
    return new Response("not found", { status: 404 });
  });
}

function serve(handler: Handler) {
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen() {} },
    handler,
  );
  return Object.assign(server, { hostPort: `127.0.0.1:${server.addr.port}` });
}

const SNAKE_CLIENT = {
  client_id: "flytectl",
  redirect_uri: "http://localhost:53593/callback",
  scopes: ["all", "offline"],
  authorization_metadata_key: "Flyte-Authorization",
  service_http_endpoint: "https://flyte.example.com/api",
  audience: "https://flyte.example.com",
};

const SNAKE_SERVER = {
  issuer: "https://idp.example.com",
  authorization_endpoint: "https://idp.example.com/auth",
  token_endpoint: "https://idp.example.com/token",
  device_authorization_endpoint: "https://idp.example.com/device",
};

Deno.test("RemoteClientConfigStore", async (t) => {
  await t.step("getClientConfig() reads snake_case keys", async () => {
    const seen: Seen[] = [];
    await using server = platform(SNAKE_CLIENT, SNAKE_SERVER, seen);
    const store = new RemoteClientConfigStore(`dns:///${server.hostPort}`, {
      insecure: true,
    });

    const config = await store.getClientConfig();

    assert.deepEqual(config, {
      tokenEndpoint: "https://idp.example.com/token",
      authorizationEndpoint: "https://idp.example.com/auth",
      deviceAuthorizationEndpoint: "https://idp.example.com/device",
      redirectUri: "http://localhost:53593/callback",
      clientId: "flytectl",
      scopes: ["all", "offline"],
      headerKey: "flyte-authorization",
      audience: "https://flyte.example.com",
      serviceHttpEndpoint: "https://flyte.example.com/api",
      issuer: "https://idp.example.com",
    });
    assert.deepEqual(
      seen.map((request) => request.accept),
      ["application/json", "application/json"],
    );
  });

  await t.step("getClientConfig() reads camelCase keys", async () => {
    await using server = platform(
      {
        clientId: "flytectl",
        redirectUri: "http://localhost:53593/callback",
        scopes: ["all"],
        authorizationMetadataKey: "flyte-authorization",
      },
      {
        authorizationEndpoint: "https://idp.example.com/auth",
        tokenEndpoint: "/oauth2/token",
      },
    );
    const store = new RemoteClientConfigStore(server.hostPort, {
      insecure: true,
    });

    const config = await store.getClientConfig();

    assert.equal(config.clientId, "flytectl");
    assert.equal(config.headerKey, "flyte-authorization");
    assert.equal(
      config.tokenEndpoint,
      `http://${server.hostPort}/oauth2/token`,
    );
  });

  await t.step("getClientConfig() treats empty strings as absent", async () => {
    await using server = platform(
      {
        ...SNAKE_CLIENT,
        authorization_metadata_key: "",
        audience: "",
        scopes: [""],
        service_http_endpoint: "",
      },
      { ...SNAKE_SERVER, device_authorization_endpoint: "", issuer: "" },
    );
    const store = new RemoteClientConfigStore(`http://${server.hostPort}`);

    const config = await store.getClientConfig();

    assert.equal(config.clientId, "flytectl");
    assert.deepEqual(
      Object.keys(config).sort(),
      ["authorizationEndpoint", "clientId", "redirectUri", "tokenEndpoint"],
    );
  });

  await t.step(
    "getClientConfig() fetches once under 10 concurrent calls",
    async () => {
      const seen: Seen[] = [];
      await using server = platform(SNAKE_CLIENT, SNAKE_SERVER, seen);
      const store = new RemoteClientConfigStore(`http://${server.hostPort}`);

      const configs = await Promise.all(
        Array.from({ length: 10 }, () => store.getClientConfig()),
      );
      await store.getClientConfig();

      assert.equal(seen.length, 2);
      assert.ok(configs.every((config) => config === configs[0]));
    },
  );

  await t.step(
    "getClientConfig() asks again after a failure",
    async () => {
      let failing = true;
      await using server = serve((request) => {
        const { pathname } = new URL(request.url);
        if (failing) return new Response("down", { status: 503 });
        return json(
          pathname.startsWith("/config") ? SNAKE_CLIENT : SNAKE_SERVER,
        );
      });
      const store = new RemoteClientConfigStore(`http://${server.hostPort}`);

      const error = await store.getClientConfig().catch((e) => e);
      failing = false;
      const config = await store.getClientConfig();

      assert.ok(error instanceof TokenRequestError);
      assert.equal(error.status, 503);
      assert.equal(config.clientId, "flytectl");
    },
  );

  await t.step(
    "getClientConfig() rejects a missing client_id with a ConfigError",
    async () => {
      await using server = platform(
        { ...SNAKE_CLIENT, client_id: "" },
        SNAKE_SERVER,
      );
      const store = new RemoteClientConfigStore(`http://${server.hostPort}`);

      const error = await store.getClientConfig().catch((e) => e);

      assert.ok(error instanceof ConfigError);
      assert.equal(error.code, "CONFIG_INVALID");
      assert.match(
        error.message,
        /\/config\/v1\/flyte_client": "client_id" is missing/,
      );
    },
  );

  await t.step("getClientConfig() rejects an HTML answer", async () => {
    await using server = serve(() =>
      new Response("<html>login</html>", {
        headers: { "content-type": "text/html" },
      })
    );
    const store = new RemoteClientConfigStore(`http://${server.hostPort}`);

    const error = await store.getClientConfig().catch((e) => e);

    assert.ok(error instanceof TokenRequestError);
    assert.equal(error.code, "TOKEN_REQUEST_FAILED");
    assert.match(error.message, /is not JSON \(content type "text\/html"\)/);
  });

  await t.step("getClientConfig() rejects an error status", async () => {
    await using server = serve(() => new Response("no", { status: 404 }));
    const store = new RemoteClientConfigStore(`http://${server.hostPort}`);

    const error = await store.getClientConfig().catch((e) => e);

    assert.ok(error instanceof TokenRequestError);
    assert.equal(error.status, 404);
    assert.match(error.message, /answered HTTP 404; check the endpoint/);
  });

  await t.step("getClientConfig() rejects an unreachable server", async () => {
    const server = serve(() => new Response());
    const hostPort = server.hostPort;
    await server.shutdown();
    const store = new RemoteClientConfigStore(`http://${hostPort}`);

    const error = await store.getClientConfig().catch((e) => e);

    assert.ok(error instanceof TokenRequestError);
    assert.equal(error.code, "TOKEN_REQUEST_FAILED");
    assert.match(
      error.message,
      new RegExp(`"http://${hostPort}/.*request failed`),
    );
  });

  await t.step("getClientConfig() times out on a hanging server", async () => {
    const { promise: release, resolve } = Promise.withResolvers<void>();
    await using server = serve(async () => {
      await release;
      return json({});
    });
    const store = new RemoteClientConfigStore(`http://${server.hostPort}`, {
      timeoutMs: 50,
    });

    const error = await store.getClientConfig().catch((e) => e);
    resolve();

    assert.ok(error instanceof TokenRequestError);
    assert.equal(error.code, "TIMEOUT");
    assert.match(error.message, /no answer within 50 ms/);
  });

  await t.step("getClientConfig() uses the injected fetch", async () => {
    const urls: string[] = [];
    const store = new RemoteClientConfigStore("flyte.example.com", {
      fetch: (input) => {
        const url = String(input instanceof Request ? input.url : input);
        urls.push(url);
        return Promise.resolve(
          json(url.includes("flyte_client") ? SNAKE_CLIENT : SNAKE_SERVER),
        );
      },
    });

    const config = await store.getClientConfig();

    assert.equal(config.clientId, "flytectl");
    assert.deepEqual(urls.sort(), [
      "https://flyte.example.com/.well-known/oauth-authorization-server",
      "https://flyte.example.com/config/v1/flyte_client",
    ]);
  });
});

Deno.test("RemoteClientConfigStore()", async (t) => {
  await t.step("constructor parses every endpoint form", () => {
    const endpoint = (value: string, insecure = false) =>
      new RemoteClientConfigStore(value, { insecure }).endpoint;

    assert.equal(
      endpoint("dns:///flyte.example.com:443"),
      "https://flyte.example.com/",
    );
    assert.equal(endpoint("localhost:30080", true), "http://localhost:30080/");
    assert.equal(
      endpoint("https://example.com/flyte/"),
      "https://example.com/flyte/",
    );
  });

  await t.step(
    "constructor refuses plain http to a remote host without insecure",
    () => {
      assert.throws(
        () => new RemoteClientConfigStore("http://flyte.example.com"),
        (error: unknown) =>
          error instanceof ConfigError && error.code === "CONFIG_INVALID" &&
          /plain http is refused.*set insecure/.test(error.message),
      );
    },
  );

  await t.step("constructor rejects a malformed endpoint", () => {
    assert.throws(
      () => new RemoteClientConfigStore("dns:///"),
      (error: unknown) =>
        error instanceof ConfigError &&
        /Cannot use endpoint "dns:\/\/\/"/.test(error.message),
    );
    assert.throws(
      () => new RemoteClientConfigStore(42 as unknown as string),
      TypeError,
    );
  });
});
