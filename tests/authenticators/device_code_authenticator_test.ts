import assert from "node:assert/strict";
import {
  type AuthContext,
  AuthError,
  type ClientConfig,
  ConfigError,
  credentialStoreKey,
  DeviceCodeAuthenticator,
  type DeviceCodeAuthenticatorOptions,
  type DevicePrompt,
  type FetchLike,
  MemoryCredentialStore,
  type PlatformConfig,
  StaticClientConfigStore,
  TokenRequestError,
} from "../../mod.ts";
import { decodeJwt } from "jose";
import { approveDeviceLogin } from "../support/browser.ts";
import {
  type FakeHandler,
  type FakeOAuthServer,
  oauthError,
  serveFakeOAuth,
  tokenJson,
} from "../support/fake_oauth_server.ts";
import { startIdp } from "../support/idp.ts";

const NOW = Date.UTC(2030, 0, 1);
const DEVICE_CODE = "urn:ietf:params:oauth:grant-type:device_code";
const SCOPES = ["openid", "offline_access", "api:read"];

function clientConfig(
  endpoints: Pick<
    FakeOAuthServer,
    "tokenEndpoint" | "deviceAuthorizationEndpoint"
  >,
  extra: Partial<ClientConfig> = {},
): StaticClientConfigStore {
  return new StaticClientConfigStore({
    tokenEndpoint: endpoints.tokenEndpoint,
    deviceAuthorizationEndpoint: endpoints.deviceAuthorizationEndpoint,
    authorizationEndpoint: endpoints.tokenEndpoint.replace(/token$/, "auth"),
    redirectUri: "http://127.0.0.1/callback",
    clientId: "sesame-native",
    ...extra,
  });
}

function countingFetch(): { fetch: FetchLike; count(): number } {
  let count = 0;
  return {
    fetch: (input, init) => (count++, fetch(input, init)),
    count: () => count,
  };
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

function refuse(): never {
  throw new Error("the person must not be asked");
}

Deno.test("DeviceCodeAuthenticator against the test authorization server", async (t) => {
  await using idp = await startIdp();
  const store = clientConfig({
    tokenEndpoint: idp.tokenEndpoint,
    deviceAuthorizationEndpoint: idp.deviceAuthorizationEndpoint,
  }, { clientId: idp.clients.native.clientId, issuer: idp.issuer });
  const config: PlatformConfig = { endpoint: "flyte.test", scopes: SCOPES };
  const credentialStore = new MemoryCredentialStore();
  const key = credentialStoreKey(
    "flyte.test",
    "deviceflow",
    idp.clients.native.clientId,
  );

  await t.step(
    "getCredentials() logs in with the device flow while the person types the code",
    async () => {
      const prompts: DevicePrompt[] = [];
      const waits: number[] = [];
      let approval: Promise<unknown> | undefined;
      const authenticator = new DeviceCodeAuthenticator(config, store, {
        credentialStore,
        onDevicePrompt(prompt) {
          prompts.push(prompt);
          approval = approveDeviceLogin(
            prompt.verificationUri,
            prompt.userCode,
          );
        },
      }, {
        // The first wait lasts until the person has approved.
        sleep: (ms) => (waits.push(ms), approval!.then(() => {})),
      });

      const credentials = await authenticator.getCredentials();

      assert.ok(
        credentials.refreshToken && credentials.accessToken,
        "no tokens",
      );
      // Checked against the issuer before it was handed out.
      const idToken = decodeJwt(credentials.idToken ?? "");
      assert.equal(idToken.iss, idp.issuer);
      assert.equal(idToken.aud, idp.clients.native.clientId);
      assert.equal(prompts[0]!.verificationUri, idp.deviceVerificationUri);
      assert.ok(prompts[0]!.verificationUriComplete?.includes("user_code="));
      assert.deepEqual(waits, [5000]);
    },
  );

  await t.step(
    "refreshCredentials() uses the stored refresh token and keeps the rotated one",
    async () => {
      const counting = countingFetch();
      const authenticator = new DeviceCodeAuthenticator(config, store, {
        credentialStore,
        fetch: counting.fetch,
        onDevicePrompt: refuse,
      });
      const stored = await authenticator.getCredentials();

      const first = await authenticator.refreshCredentials();
      const second = await authenticator.refreshCredentials();

      assert.ok(first.refreshToken !== stored.refreshToken, "not rotated");
      assert.ok(second.refreshToken !== first.refreshToken, "not rotated");
      assert.ok(
        (await credentialStore.get(key))?.refreshToken === second.refreshToken,
        "the rotated refresh token was not stored",
      );
      assert.equal(counting.count(), 2);
    },
  );

  await t.step(
    "a second authenticator sharing the credential store reuses the login without a prompt",
    async () => {
      const counting = countingFetch();
      const authenticator = new DeviceCodeAuthenticator(config, store, {
        credentialStore,
        fetch: counting.fetch,
        onDevicePrompt: refuse,
      });

      const credentials = await authenticator.getCredentials();

      const stored = await credentialStore.get(key);
      assert.ok(credentials.accessToken === stored?.accessToken, "not reused");
      assert.equal(counting.count(), 0);
    },
  );

  await t.step(
    "getCredentials() refreshes an expired stored login without a prompt",
    async () => {
      const counting = countingFetch();
      const authenticator = new DeviceCodeAuthenticator(config, store, {
        credentialStore,
        fetch: counting.fetch,
        onDevicePrompt: refuse,
        now: () => Date.now() + 24 * 3600_000,
      });
      const stored = (await credentialStore.get(key))!;

      const credentials = await authenticator.getCredentials();

      assert.ok(credentials.accessToken !== stored.accessToken, "not fresh");
      assert.equal(counting.count(), 1);
    },
  );

  await t.step(
    "getCredentials() fails with ACCESS_DENIED when the person aborts",
    async () => {
      let approval: Promise<unknown> | undefined;
      const authenticator = new DeviceCodeAuthenticator(config, store, {
        credentialStore: new MemoryCredentialStore(),
        onDevicePrompt(prompt) {
          approval = approveDeviceLogin(
            prompt.verificationUriComplete!,
            undefined,
            {
              deny: true,
            },
          );
        },
      }, { sleep: () => approval!.then(() => {}) });

      const error = await rejection(authenticator.getCredentials());

      assert.ok(error instanceof TokenRequestError);
      assert.equal(error.code, "ACCESS_DENIED");
      assert.match(
        error.message,
        /^Device log-in was declined at ".*\/device"; run the log-in again and approve it/,
      );
    },
  );
});

/** A fake server with a device authorization endpoint and a token endpoint. */
function deviceServer(
  device: Record<string, unknown>,
  token: FakeHandler,
): FakeOAuthServer {
  let tokenRequests = 0;
  return serveFakeOAuth((request, _, control) => {
    if (request.path === "/device/auth") {
      return tokenJson({
        device_code: "fake-device-code",
        user_code: "ABCD-EFGH",
        verification_uri: "https://idp.example.com/device",
        expires_in: 600,
        ...device,
      });
    }
    return token(request, tokenRequests++, control);
  });
}

Deno.test("DeviceCodeAuthenticator", async (t) => {
  const setup = (
    server: FakeOAuthServer,
    context: Partial<AuthContext> = {},
    options: DeviceCodeAuthenticatorOptions = {},
    extra: Partial<ClientConfig> = {},
  ) => {
    let now = NOW;
    const waits: number[] = [];
    const prompts: DevicePrompt[] = [];
    const credentialStore = new MemoryCredentialStore();
    const authenticator = new DeviceCodeAuthenticator(
      { endpoint: "flyte.test", scopes: ["offline_access"] },
      clientConfig(server, extra),
      {
        credentialStore,
        now: () => now,
        onDevicePrompt: (prompt) => void prompts.push(prompt),
        ...context,
      },
      {
        sleep: (ms) => (waits.push(ms), now += ms, Promise.resolve()),
        ...options,
      },
    );
    const key = credentialStoreKey("flyte.test", "deviceflow", "sesame-native");
    return { authenticator, waits, prompts, credentialStore, key };
  };
  const success = () =>
    tokenJson({
      access_token: "fake-access",
      refresh_token: "fake-refresh",
      token_type: "Bearer",
      expires_in: 3600,
    });

  await t.step(
    "fetchCredentials() prompts with the server's codes and polls at its interval",
    async () => {
      await using server = deviceServer(
        {
          interval: 2,
          verification_uri_complete:
            "https://idp.example.com/device?user_code=ABCD-EFGH",
        },
        (_, index) =>
          index < 2 ? oauthError("authorization_pending") : success(),
      );
      const { authenticator, waits, prompts } = setup(server);

      const credentials = await authenticator.getCredentials();

      assert.equal(credentials.expiresAt, NOW + 6000 + 3600_000);
      assert.deepEqual(prompts, [{
        kind: "device",
        verificationUri: "https://idp.example.com/device",
        verificationUriComplete:
          "https://idp.example.com/device?user_code=ABCD-EFGH",
        userCode: "ABCD-EFGH",
        expiresAt: NOW + 600_000,
      }]);
      assert.deepEqual(waits, [2000, 2000, 2000]);
    },
  );

  await t.step(
    "fetchCredentials() polls 5 s slower after slow_down",
    async () => {
      await using server = deviceServer({ interval: 2 }, (request, index) => {
        assert.equal(request.form.get("grant_type"), DEVICE_CODE);
        return index === 0
          ? oauthError("slow_down")
          : index === 1
          ? oauthError("authorization_pending")
          : success();
      });
      const { authenticator, waits } = setup(server);

      await authenticator.getCredentials();

      assert.deepEqual(waits, [2000, 7000, 7000]);
      assert.equal(server.requests.length, 4);
    },
  );

  await t.step(
    "fetchCredentials() fails with ACCESS_DENIED when the server says access_denied",
    async () => {
      await using server = deviceServer({}, () => oauthError("access_denied"));
      const { authenticator } = setup(server);

      const error = await rejection(authenticator.getCredentials());

      assert.ok(error instanceof TokenRequestError);
      assert.equal(error.code, "ACCESS_DENIED");
      assert.match(
        error.message,
        /^Device log-in was declined at "https:\/\/idp\.example\.com\/device"/,
      );
    },
  );

  await t.step(
    "fetchCredentials() fails with EXPIRED_TOKEN when the server says expired_token",
    async () => {
      await using server = deviceServer({}, () => oauthError("expired_token"));
      const { authenticator } = setup(server);

      const error = await rejection(authenticator.getCredentials());

      assert.ok(error instanceof TokenRequestError);
      assert.equal(error.code, "EXPIRED_TOKEN");
      assert.match(
        error.message,
        /^Device log-in expired before it was approved; run the log-in again/,
      );
    },
  );

  await t.step(
    "fetchCredentials() stops polling when the code expires by the clock",
    async () => {
      await using server = deviceServer(
        { expires_in: 12 },
        () => oauthError("authorization_pending"),
      );
      const { authenticator, waits } = setup(server);

      const error = await rejection(authenticator.getCredentials());

      assert.equal(error.code, "EXPIRED_TOKEN");
      assert.deepEqual(waits, [5000, 5000, 5000]);
      assert.equal(server.requests.length, 1 + 2);
    },
  );

  await t.step(
    "getCredentials() stops polling when its signal aborts",
    async () => {
      await using server = deviceServer(
        {},
        () => oauthError("authorization_pending"),
      );
      const controller = new AbortController();
      const reason = new Error("the caller gave up");
      let sleepAborted = false;
      const { authenticator } = setup(server, {}, {
        sleep: (_, signal) => {
          controller.abort(reason);
          return new Promise((_, reject) => {
            const stop = () => (sleepAborted = true, reject(signal!.reason));
            if (signal!.aborted) {
              stop();
            } else signal!.addEventListener("abort", stop, { once: true });
          });
        },
      });

      const pending = authenticator.getCredentials({
        signal: controller.signal,
      });

      await assert.rejects(pending, (error) => error === reason);
      assert.ok(sleepAborted, "the poll went on");
      assert.equal(server.requests.length, 1);
    },
  );

  await t.step(
    "a refresh that fails with a 500 keeps the stored refresh token and asks no one",
    async () => {
      await using server = deviceServer(
        {},
        () => new Response(null, { status: 500 }),
      );
      const { authenticator, credentialStore, key, prompts } = setup(server);
      await credentialStore.set(key, {
        accessToken: "fake-expired",
        expiresAt: NOW - 1000,
        refreshToken: "fake-stored-refresh",
      });

      const error = await rejection(authenticator.getCredentials());

      assert.ok(error instanceof TokenRequestError && error.status === 500);
      assert.equal(
        (await credentialStore.get(key))?.refreshToken,
        "fake-stored-refresh",
      );
      assert.equal(prompts.length, 0);
    },
  );

  await t.step(
    "a refresh the server refuses falls back to a device log-in",
    async () => {
      await using server = deviceServer(
        {},
        (request) =>
          request.form.get("grant_type") === "refresh_token"
            ? oauthError("invalid_grant")
            : success(),
      );
      const { authenticator, credentialStore, key, prompts } = setup(server);
      await credentialStore.set(key, {
        accessToken: "fake-expired",
        expiresAt: NOW - 1000,
        refreshToken: "fake-revoked-refresh",
      });

      const credentials = await authenticator.getCredentials();

      assert.equal(credentials.accessToken, "fake-access");
      assert.equal(prompts.length, 1);
      assert.equal(
        (await credentialStore.get(key))?.refreshToken,
        "fake-refresh",
      );
    },
  );

  await t.step(
    "getCredentials() takes the header key from the client config, also for a stored login",
    async () => {
      await using server = deviceServer({}, () => success());
      const { authenticator, credentialStore, key } = setup(server, {}, {}, {
        headerKey: "flyte-authorization",
      });
      await credentialStore.set(key, {
        accessToken: "fake-stored",
        expiresAt: NOW + 3600_000,
      });

      const credentials = await authenticator.getCredentials();

      assert.equal(credentials.accessToken, "fake-stored");
      assert.equal(authenticator.headerKey, "flyte-authorization");
      assert.equal(server.requests.length, 0);
    },
  );

  await t.step(
    "getCredentials() fails with a ConfigError when the platform has no device authorization endpoint",
    async () => {
      await using server = deviceServer({}, () => success());
      const { authenticator } = setup(server, {}, {}, {
        deviceAuthorizationEndpoint: undefined,
      });

      const error = await rejection(authenticator.getCredentials());

      assert.ok(error instanceof ConfigError);
      assert.match(
        error.message,
        /no device authorization endpoint; use another auth mode/,
      );
    },
  );
});
