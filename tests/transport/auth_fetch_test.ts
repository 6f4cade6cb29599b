import assert from "node:assert/strict";
import type { Authenticator } from "../../src/authenticator.ts";
import { CountingAuthenticator } from "../support/counting_authenticator.ts";
import type { AuthEvent } from "../../src/context.ts";
import { createAuthFetch } from "../../src/transport/auth_fetch.ts";

interface Seen {
  method: string;
  path: string;
  headers: Headers;
  body: string;
}

/** A loopback server that records what it received. */
function serve(handler: (request: Request, seen: Seen) => Response) {
  const seen: Seen[] = [];
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen() {} },
    async (request) => {
      const entry = {
        method: request.method,
        path: new URL(request.url).pathname,
        headers: request.headers,
        body: await request.text(),
      };
      seen.push(entry);
      return handler(request, entry);
    },
  );
  const origin = `http://127.0.0.1:${server.addr.port}`;
  return {
    seen,
    origin,
    async [Symbol.asyncDispose]() {
      await server.shutdown();
    },
  };
}

/** Answers 401 unless the request carries `Bearer token-2`. */
function acceptsSecondToken(request: Request): Response {
  return request.headers.get("authorization") === "Bearer token-2"
    ? new Response("ok")
    : new Response("no", { status: 401 });
}

Deno.test("createAuthFetch() sends credentials to the platform", async (t) => {
  await t.step(
    "adds headerKey: Bearer <token> to a platform request",
    async () => {
      await using platform = serve(() => new Response("ok"));
      const authenticator = new CountingAuthenticator("token", {
        headerKey: "flyte-authorization",
      });
      const authFetch = createAuthFetch(authenticator, {
        origin: platform.origin,
      });

      const response = await authFetch(`${platform.origin}/api`, {
        headers: { accept: "text/plain" },
      });

      assert.equal(await response.text(), "ok");
      assert.equal(
        platform.seen[0]?.headers.get("flyte-authorization"),
        "Bearer token-1",
      );
      assert.equal(platform.seen[0]?.headers.get("accept"), "text/plain");
    },
  );

  await t.step("keeps a Request's method, headers and body", async () => {
    await using platform = serve(() => new Response("ok"));
    const authFetch = createAuthFetch(new CountingAuthenticator(), {
      origin: new URL(platform.origin),
    });

    const request = new Request(`${platform.origin}/api`, {
      method: "PUT",
      headers: { "x-trace": "7" },
      body: "payload",
    });
    await (await authFetch(request)).body?.cancel();

    assert.deepEqual(
      [platform.seen[0]?.method, platform.seen[0]?.body],
      ["PUT", "payload"],
    );
    assert.equal(platform.seen[0]?.headers.get("x-trace"), "7");
    assert.equal(
      platform.seen[0]?.headers.get("authorization"),
      "Bearer token-1",
    );
  });

  await t.step(
    "adds the proxy authenticator's proxy-authorization",
    async () => {
      await using platform = serve(() => new Response("ok"));
      const authFetch = createAuthFetch(new CountingAuthenticator(), {
        origin: platform.origin,
        proxyAuthenticator: new CountingAuthenticator("proxy", {
          headerKey: "proxy-authorization",
        }),
      });

      await (await authFetch(`${platform.origin}/`)).body?.cancel();

      assert.equal(
        platform.seen[0]?.headers.get("proxy-authorization"),
        "Bearer proxy-1",
      );
      assert.equal(
        platform.seen[0]?.headers.get("authorization"),
        "Bearer token-1",
      );
    },
  );
});

Deno.test("createAuthFetch() keeps credentials from other origins", async (t) => {
  await t.step(
    "sends neither token nor proxy header to another origin",
    async () => {
      await using platform = serve(() => new Response("ok"));
      await using other = serve(() => new Response("ok"));
      const authenticator = new CountingAuthenticator();
      const authFetch = createAuthFetch(authenticator, {
        origin: platform.origin,
        proxyAuthenticator: new CountingAuthenticator("proxy", {
          headerKey: "proxy-authorization",
        }),
      });

      await (await authFetch(`${other.origin}/steal`)).body?.cancel();

      assert.equal(other.seen[0]?.headers.get("authorization"), null);
      assert.equal(other.seen[0]?.headers.get("proxy-authorization"), null);
      assert.equal(authenticator.fetches, 0);
    },
  );

  await t.step(
    "drops the headers on a redirect to another origin",
    async () => {
      await using other = serve(() => new Response("landed"));
      await using platform = serve(() =>
        Response.redirect(`${other.origin}/elsewhere`, 302)
      );
      const authFetch = createAuthFetch(
        new CountingAuthenticator("token", {
          headerKey: "flyte-authorization",
        }),
        {
          origin: platform.origin,
          proxyAuthenticator: new CountingAuthenticator("proxy", {
            headerKey: "proxy-authorization",
          }),
        },
      );

      const response = await authFetch(`${platform.origin}/start`);

      assert.equal(await response.text(), "landed");
      assert.equal(other.seen[0]?.headers.get("flyte-authorization"), null);
      assert.equal(other.seen[0]?.headers.get("proxy-authorization"), null);
    },
  );

  await t.step(
    "drops the authorization header on a redirect to another origin",
    async () => {
      await using other = serve(() => new Response("landed"));
      await using platform = serve(() =>
        Response.redirect(`${other.origin}/elsewhere`, 302)
      );
      const authFetch = createAuthFetch(new CountingAuthenticator(), {
        origin: platform.origin,
      });

      const response = await authFetch(`${platform.origin}/start`);

      assert.equal(await response.text(), "landed");
      assert.equal(
        platform.seen[0]?.headers.get("authorization"),
        "Bearer token-1",
      );
      assert.equal(other.seen[0]?.headers.get("authorization"), null);
    },
  );

  await t.step(
    "drops a header key learned from the server on a redirect to another origin",
    async () => {
      /** Names its header only once it has fetched, as built-ins do. */
      class LearningAuthenticator extends CountingAuthenticator {
        protected override prepare(): void {
          this.setHeaderKey("flyte-authorization");
        }
      }
      await using other = serve(() => new Response("landed"));
      await using platform = serve(() =>
        Response.redirect(`${other.origin}/elsewhere`, 302)
      );
      const authenticator = new LearningAuthenticator();
      const authFetch = createAuthFetch(authenticator, {
        origin: platform.origin,
      });

      await (await authFetch(`${platform.origin}/start`)).text();

      assert.equal(authenticator.headerKey, "flyte-authorization");
      assert.equal(
        platform.seen[0]?.headers.get("flyte-authorization"),
        "Bearer token-1",
      );
      assert.equal(other.seen[0]?.headers.get("flyte-authorization"), null);
    },
  );

  await t.step(
    "keeps the headers on a redirect within the platform",
    async () => {
      await using platform = serve((_, seen) =>
        seen.path === "/start"
          ? new Response(null, { status: 307, headers: { location: "/next" } })
          : new Response("done")
      );
      const authFetch = createAuthFetch(new CountingAuthenticator(), {
        origin: platform.origin,
      });

      const response = await authFetch(`${platform.origin}/start`, {
        method: "POST",
        body: "again",
      });

      assert.equal(await response.text(), "done");
      assert.deepEqual(platform.seen.map((s) => s.body), ["again", "again"]);
      assert.equal(
        platform.seen[1]?.headers.get("authorization"),
        "Bearer token-1",
      );
    },
  );

  await t.step("does not refresh for a 401 from another origin", async () => {
    await using other = serve(() => new Response("no", { status: 401 }));
    await using platform = serve(() =>
      Response.redirect(`${other.origin}/signed`, 302)
    );
    const authenticator = new CountingAuthenticator();
    const authFetch = createAuthFetch(authenticator, {
      origin: platform.origin,
    });

    const response = await authFetch(`${platform.origin}/start`);
    await response.body?.cancel();

    assert.equal(response.status, 401);
    assert.equal(authenticator.fetches, 1);
    assert.equal(platform.seen.length, 1);
  });

  await t.step("sends credentials to every origin of a list", async () => {
    await using first = serve(() => new Response("ok"));
    await using second = serve(() => new Response("ok"));
    const authFetch = createAuthFetch(new CountingAuthenticator(), {
      origin: [first.origin, new URL(second.origin)],
    });

    await (await authFetch(`${first.origin}/a`)).body?.cancel();
    await (await authFetch(new URL(`${second.origin}/b`))).body?.cancel();

    assert.equal(first.seen[0]?.headers.get("authorization"), "Bearer token-1");
    assert.equal(
      second.seen[0]?.headers.get("authorization"),
      "Bearer token-1",
    );
  });

  await t.step("needs an origin", () => {
    assert.throws(
      () =>
        createAuthFetch(
          new CountingAuthenticator(),
          undefined as unknown as { origin: string },
        ),
      (error) =>
        error instanceof TypeError && /options\.origin/.test(error.message),
    );
    assert.throws(
      () =>
        createAuthFetch(new CountingAuthenticator(), {
          origin: "flyte.example.com",
        }),
      (error) =>
        error instanceof TypeError &&
        /not an http\(s\) URL/.test(error.message),
    );
  });

  await t.step("needs an authenticator", () => {
    assert.throws(
      () =>
        createAuthFetch({} as Authenticator, { origin: "https://a.example" }),
      (error) =>
        error instanceof TypeError &&
        /must be an Authenticator/.test(error.message),
    );
  });
});

Deno.test("createAuthFetch() refreshes once on 401", async (t) => {
  await t.step("replays a 401 once with exactly one refresh", async () => {
    await using platform = serve(acceptsSecondToken);
    const authenticator = new CountingAuthenticator();
    const events: AuthEvent[] = [];
    const authFetch = createAuthFetch(authenticator, {
      origin: platform.origin,
      onEvent: (event) => events.push(event),
    });

    const response = await authFetch(`${platform.origin}/api`, {
      method: "POST",
      body: JSON.stringify({ name: "x" }),
    });

    assert.equal(response.status, 200);
    await response.body?.cancel();
    assert.equal(authenticator.fetches, 2);
    assert.deepEqual(platform.seen.map((s) => s.body), [
      '{"name":"x"}',
      '{"name":"x"}',
    ]);
    assert.equal(events[0]?.type, "retry");
  });

  await t.step("returns a second 401 without another refresh", async () => {
    await using platform = serve(() => new Response("no", { status: 401 }));
    const authenticator = new CountingAuthenticator();
    const authFetch = createAuthFetch(authenticator, {
      origin: platform.origin,
    });

    const response = await authFetch(`${platform.origin}/api`);
    await response.body?.cancel();

    assert.equal(response.status, 401);
    assert.equal(platform.seen.length, 2);
    assert.equal(authenticator.fetches, 2);
  });

  await t.step(
    "100 concurrent requests that all get 401 once cost one refresh",
    async () => {
      await using platform = serve(acceptsSecondToken);
      const authenticator = new CountingAuthenticator();
      const authFetch = createAuthFetch(authenticator, {
        origin: platform.origin,
      });

      const responses = await Promise.all(
        Array.from(
          { length: 100 },
          (_, i) => authFetch(`${platform.origin}/${i}`),
        ),
      );
      await Promise.all(responses.map((response) => response.body?.cancel()));

      assert.ok(responses.every((response) => response.status === 200));
      assert.equal(authenticator.fetches, 2);
      assert.equal(platform.seen.length, 200);
    },
  );

  await t.step(
    "does not replay a streamed body and returns the 401",
    async () => {
      await using platform = serve(acceptsSecondToken);
      const authenticator = new CountingAuthenticator();
      const authFetch = createAuthFetch(authenticator, {
        origin: platform.origin,
      });

      const body = ReadableStream.from([new TextEncoder().encode("streamed")]);
      const response = await authFetch(`${platform.origin}/upload`, {
        method: "POST",
        body,
      });
      await response.body?.cancel();

      assert.equal(response.status, 401);
      assert.equal(platform.seen.length, 1);
      assert.equal(authenticator.fetches, 1);
    },
  );
});
